from bankflow.urls import service_urlpatterns

urlpatterns = service_urlpatterns(api="producer.transactions.urls")
