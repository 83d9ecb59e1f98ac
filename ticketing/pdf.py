"""PDF tickets (placeholder until the ticket drawing lands)."""


def ticket_pdfs(order):
    return []
