from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.urls import path

from consumer.console import views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("overview/panel/", views.overview_panel, name="overview-panel"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html",
            authentication_form=AdminAuthenticationForm,  # staff only
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="console:login"), name="logout"),
    path("transactions/", views.transactions, name="transactions"),
    path("transactions/<uuid:transaction_id>/", views.transaction_detail, name="transaction"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<uuid:transaction_id>/", views.review_decision, name="review-decide"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/redeliver/", views.webhooks_redeliver, name="webhooks-redeliver"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/<str:code>/", views.account_detail, name="account"),
]
