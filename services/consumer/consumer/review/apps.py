from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "consumer.review"
    label = "review"
    verbose_name = "Review"
