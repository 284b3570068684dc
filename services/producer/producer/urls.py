from bankflow.urls import service_urlpatterns

urlpatterns = service_urlpatterns(
    api="producer.transactions.urls",
    # The outbox holds the work through a broker outage: only the database is needed.
    ready=("database",),
)
