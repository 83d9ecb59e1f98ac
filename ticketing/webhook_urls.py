"""Payment providers' notifications, under /ticketing/webhooks/."""

urlpatterns = []
