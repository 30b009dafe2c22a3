"""`make bench-peers`: caseshare beside Cedar, Casbin and django-guardian on the same §16 world."""
