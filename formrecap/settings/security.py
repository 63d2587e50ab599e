"""Security: lockouts of brute-forced admin logins and API keys."""

from .env import env

# Brute force (formrecap/lockout.py): this many failures within the lockout period lock the subject for that period
# (0: no lockout of that kind). Admin logins per username and per client IP; wrong API keys per client IP. The client
# IP needs NUM_PROXIES behind a proxy, or every client shares the proxy's address and its lockout.
FORMRECAP_LOGIN_FAILURES_PER_USER = env.int("FORMRECAP_LOGIN_FAILURES_PER_USER", default=5)
FORMRECAP_LOGIN_FAILURES_PER_IP = env.int("FORMRECAP_LOGIN_FAILURES_PER_IP", default=20)
FORMRECAP_LOGIN_LOCKOUT_SECONDS = env.int("FORMRECAP_LOGIN_LOCKOUT_SECONDS", default=15 * 60)
FORMRECAP_API_KEY_FAILURES_PER_IP = env.int("FORMRECAP_API_KEY_FAILURES_PER_IP", default=20)
FORMRECAP_API_KEY_LOCKOUT_SECONDS = env.int("FORMRECAP_API_KEY_LOCKOUT_SECONDS", default=15 * 60)
