"""Django's PostgreSQL backend with one change to its connection pool (DB_POOL): a connection returned to the
pool less than DB_POOL_CHECK_IDLE_SECONDS ago is lent again without a check.

Django has the pool check every connection it lends, a round trip per request that cost the ingest path a twentieth
of the server's CPU and more of PostgreSQL's (bench/ingest.py). Under load a connection comes back to a view thread
within milliseconds of leaving it, and one that worked a moment ago is as good as checked (HikariCP's 500 ms
"alive bypass window"). A connection idle for longer, which is what a restart or failover leaves behind, is still
checked and replaced. The price: a connection broken within the window fails its next request, answered 503 with
Retry-After (formrecap/unavailable.py) and discarded by the pool, as every connection would be without checks.
"""

import time

from django.conf import settings
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base

# Set on a connection as it goes back to the pool (the pool's own reset callback would return it from a thread).
RETURNED_AT = "_formrecap_returned_at"


def check_unless_used_recently(conn) -> None:
    """The pool's check: raises when ``conn`` no longer works, skipped for a connection returned moments ago."""
    from psycopg_pool import ConnectionPool

    window = getattr(settings, "FORMRECAP_DB_POOL_CHECK_IDLE_SECONDS", 0.0)
    if time.monotonic() - getattr(conn, RETURNED_AT, float("-inf")) > window:
        ConnectionPool.check_connection(conn)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        unchecked = not self.settings_dict["CONN_HEALTH_CHECKS"]
        if self.alias == NO_DB_ALIAS or not pool_options or unchecked or self.settings_dict.get("CONN_MAX_AGE", 0):
            return super().pool  # Django's: no pool, a pool without checks, or its error beside persistent connections
        if self.alias not in self._connection_pools:
            from psycopg_pool import ConnectionPool

            # As Django builds it (django.db.backends.postgresql.base), but for the check.
            connect_kwargs = {**self.get_connection_params(), "autocommit": True}
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=check_unless_used_recently,
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

    def _close(self):
        if self.connection is not None and self.pool:
            setattr(self.connection, RETURNED_AT, time.monotonic())
        return super()._close()
