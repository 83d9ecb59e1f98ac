"""Manager pages of the newsletters: the products (newsletters.py), their audience
settings, lists, groups and fields (audience.py), and their contacts (contacts.py)."""
