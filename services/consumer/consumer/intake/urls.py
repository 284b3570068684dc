urlpatterns: list = []  # filled by the intake API
