from django.urls import path

from consumer.api.views import (
    AccountBalancesView,
    ReconciliationView,
    TransactionDetailView,
    TransactionIntakeView,
    TransactionReviewView,
)

urlpatterns = [
    path("transactions/", TransactionIntakeView.as_view(), name="transaction-intake"),
    path(
        "transactions/<str:transaction_id>/",
        TransactionDetailView.as_view(),
        name="transaction-detail",
    ),
    path(
        "transactions/<str:transaction_id>/review/",
        TransactionReviewView.as_view(),
        name="transaction-review",
    ),
    path("accounts/<str:iban>/", AccountBalancesView.as_view(), name="account-balances"),
    path("reconciliation/", ReconciliationView.as_view(), name="reconciliation"),
]
