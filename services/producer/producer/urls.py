from bankflow.urls import not_found, server_error, service_urlpatterns

urlpatterns = service_urlpatterns(
    api="producer.transactions.urls",
    # The outbox holds the work through a broker outage: only the database is needed.
    ready=("database",),
)

handler404 = not_found
handler500 = server_error
