from django.urls import path

from consumer.api.views import (
    AccountBalancesView,
    ReconciliationView,
    TransactionDetailView,
    TransactionIntakeView,
)

urlpatterns = [
    path("transactions/", TransactionIntakeView.as_view(), name="transaction-intake"),
    path(
        "transactions/<str:transaction_id>/",
        TransactionDetailView.as_view(),
        name="transaction-detail",
    ),
    path("accounts/<str:iban>/", AccountBalancesView.as_view(), name="account-balances"),
    path("reconciliation/", ReconciliationView.as_view(), name="reconciliation"),
]
