from django.urls import path
from rest_framework.routers import SimpleRouter

from producer.transactions.api import TransactionViewSet
from producer.transactions.webhooks import ConsumerWebhookView

router = SimpleRouter()
router.register("transactions", TransactionViewSet, basename="transaction")

urlpatterns = [
    path("webhooks/consumer/", ConsumerWebhookView.as_view(), name="consumer-webhook"),
    *router.urls,
]
