"""Domain errors. Adapters raise these; handlers map their types to HTTP statuses or retry decisions."""


class DomainError(Exception):
    """Base of every error the domain reports on purpose. `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- the caller's input is wrong: never retried ---------------------------------------------------
class InvalidRequest(DomainError):
    code = "invalid_request"


class UrlNotAllowed(InvalidRequest):
    """The URL's scheme, host or resolved address is refused (SSRF guard)."""

    code = "url_not_allowed"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class InvalidImage(DomainError):
    """The bytes claim to be a supported image but are not a usable one (truncated, corrupt, too many pixels)."""

    code = "invalid_image"


class NotFound(DomainError):
    code = "not_found"


class EndpointDisabled(DomainError):
    """The webhook endpoint is disabled, so it takes no replay until its owner turns it back on."""

    code = "endpoint_disabled"


# --- something upstream failed ------------------------------------------------------------------
class FetchFailed(DomainError):
    """The remote server could not be reached, timed out, or answered with an error."""

    code = "fetch_failed"


class HostNotFound(FetchFailed):
    """The URL's host name does not resolve: most often a typo in the URL."""

    code = "host_not_found"


class ConnectionRefused(FetchFailed):
    """The URL's host refused the connection: nothing listens on that port."""

    code = "connection_refused"


class RemoteClientError(FetchFailed):
    """The URL's server answered with a 4xx of its own (not found, forbidden, ...)."""

    code = "remote_client_error"


class RemoteServerError(FetchFailed):
    """The URL's server answered with a 5xx of its own: its outage, not ours."""

    code = "remote_server_error"


class DownloadTooSlow(FetchFailed):
    """The download did not finish within the fetch's total time limit.

    A limit we set, like the size limit, rather than a fault of the server: the caller gets a 4xx.
    """

    code = "download_too_slow"


class TransientError(DomainError):
    """Worth retrying later: throttling, timeouts, a dependency briefly down."""

    code = "transient"


class AlreadyExists(DomainError):
    """A conditional write found the record already there: the work was done by an earlier delivery."""

    code = "already_exists"


class EndpointUrlRefused(DomainError):
    """A webhook endpoint's URL is refused, at registration or at delivery. `code` says why:
    not https, not a public address, a host that does not resolve, or a malformed URL."""

    code = "endpoint_url_refused"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code
