"""Typed errors raised by the Chorus Pro client.

The caller decides what to do from the class alone:

- :class:`ChorusProRetryableError`: try again later (connection error, timeout,
  HTTP 429 with ``retry_after``, HTTP 5xx). For a *write* call whose request may
  have reached Chorus Pro, the subclass :class:`ChorusProOutcomeUnknownError` is
  raised instead: look the document up before sending it again.
- :class:`ChorusProAuthError`: credentials or subscription problem (HTTP 401/403,
  OAuth error); retrying will not help until someone fixes the configuration.
- :class:`ChorusProFunctionalError`: Chorus Pro understood the request and refused
  it (``codeRetour`` other than 0); ``code`` and ``label`` say why.
"""


class ChorusProError(Exception):
    """Base class of every error raised by the client.

    Raised as such for answers that fit no other category (an HTTP 404 without a
    Chorus Pro body, an answer that is not JSON...).
    """

    def __init__(self, message, *, http_status=None, endpoint=None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.endpoint = endpoint


class ChorusProRetryableError(ChorusProError):
    """A transient failure: the same call may succeed later.

    ``retry_after`` is the delay in seconds the server asked for (HTTP 429 or 503
    ``Retry-After``), or ``None``.
    """

    #: True when a write request may have been processed by Chorus Pro.
    outcome_unknown = False

    def __init__(self, message, *, retry_after=None, http_status=None, endpoint=None):
        super().__init__(message, http_status=http_status, endpoint=endpoint)
        self.retry_after = retry_after


class ChorusProOutcomeUnknownError(ChorusProRetryableError):
    """A write request was sent but its answer was lost or was a server error.

    Chorus Pro may have recorded it (a deposit may have a flow number the client
    never saw). Never re-send blindly: search for the invoice first.
    """

    outcome_unknown = True


class ChorusProAuthError(ChorusProError):
    """PISTE or Chorus Pro refused the credentials (HTTP 401/403, OAuth error).

    ``reason`` is what the server said (OAuth ``error_description``, Chorus Pro
    ``libelle``...), never a secret.
    """

    def __init__(self, message, *, reason=None, http_status=None, endpoint=None):
        super().__init__(message, http_status=http_status, endpoint=endpoint)
        self.reason = reason


class ChorusProFunctionalError(ChorusProError):
    """Chorus Pro refused the request: ``codeRetour`` ≠ 0 (HTTP 200 or 4xx).

    ``code`` is the ``codeRetour`` and ``label`` the ``libelle`` of the answer;
    ``payload`` is the whole decoded answer.
    """

    def __init__(
        self,
        message,
        *,
        code=None,
        label=None,
        payload=None,
        http_status=None,
        endpoint=None,
    ):
        super().__init__(message, http_status=http_status, endpoint=endpoint)
        self.code = code
        self.label = label
        self.payload = payload
