"""Thread-safe cache of PISTE OAuth2 access tokens.

PISTE issues client-credentials tokens valid ``expires_in`` seconds (3600 seen)
and no refresh token. One token serves every call of an application until shortly
before it expires, so the cache is process-wide (see :data:`DEFAULT_TOKEN_CACHE`)
and keyed by (token URL, client id, fingerprint of the secret): two companies
with different PISTE applications, or the qualification and production
environments of one company, never share a token, and a corrected secret is used
at once instead of the token obtained with the old one.
"""

import hashlib
import threading
import time
from dataclasses import dataclass


@dataclass
class _Entry:
    token: str
    expires_at: float  # monotonic clock
    refresh_at: float  # monotonic clock


def cache_key(token_url, client_id, client_secret):
    """Build the cache key of one PISTE application on one environment.

    The secret enters only as a short hash: the cache never holds it.
    """
    digest = hashlib.sha256(client_secret.encode("utf-8")).hexdigest()[:16]
    return (token_url, client_id, digest)


class TokenCache:
    """Tokens by key, fetched at most once at a time per key.

    ``fetch`` callables return ``(access_token, expires_in_seconds)``. A token is
    refreshed ``margin`` seconds before it expires; the margin is capped at half
    the lifetime so that short-lived tokens are still reused.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._entries = {}
        self._key_locks = {}
        #: Number of tokens fetched, for diagnostics and benchmarks.
        self.fetch_count = 0

    def get(self, key, fetch, margin=300.0):
        """Return a valid token for ``key``, calling ``fetch`` only if needed."""
        return self.acquire(key, fetch, margin)[0]

    def acquire(self, key, fetch, margin=300.0):
        """Like :meth:`get`, returning ``(token, fresh)`` where ``fresh`` says
        whether this call fetched it."""
        with self._lock:
            entry = self._entries.get(key)
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        if entry and self._clock() < entry.refresh_at:
            return entry.token, False
        # One thread fetches; the others wait here and reuse its token.
        with key_lock:
            with self._lock:
                entry = self._entries.get(key)
            if entry and self._clock() < entry.refresh_at:
                return entry.token, False
            token, expires_in = fetch()
            now = self._clock()
            lifetime = max(float(expires_in), 0.0)
            early = min(float(margin), lifetime / 2)
            entry = _Entry(token, now + lifetime, now + lifetime - early)
            with self._lock:
                self._entries[key] = entry
                self.fetch_count += 1
            return token, True

    def invalidate(self, key, token=None):
        """Forget the token of ``key`` (only if it is still ``token`` when given).

        Called when the server refused a token: checking the value avoids
        discarding a fresh token another thread obtained meanwhile.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry and (token is None or entry.token == token):
                del self._entries[key]

    def clear(self):
        """Forget every token."""
        with self._lock:
            self._entries.clear()


#: The cache shared by every client of the process unless one is given.
DEFAULT_TOKEN_CACHE = TokenCache()
