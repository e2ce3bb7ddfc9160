namespace KetamineCds.Api.Security;

/// <summary>
/// Security settings (section <c>KetamineCds:Security</c>). Trusted clients are a LIST of objects, not a dictionary keyed
/// by issuer: an issuer URL contains ':' (the configuration separator) and would bind to nothing.
/// Environment variables work as usual: <c>KetamineCds__Security__Clients__0__Issuer=https://ehr.example.org</c>.
/// </summary>
public sealed class CdsSecurityOptions
{
    public const string Section = "KetamineCds:Security";

    /// <summary>
    /// Must never be false in production: with false, hook calls are accepted without a JWT. The service refuses to start
    /// with false outside the Development and Testing environments.
    /// </summary>
    public bool RequireSignedRequests { get; set; } = true;

    /// <summary>
    /// This service's public base URL as the EHR calls it (scheme, host, port, optional path; no trailing slash needed).
    /// The expected <c>aud</c> is <c>{PublicBaseUrl}/cds-services/{id}</c> exactly; the Host header is never used.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Tolerance on <c>exp</c>, <c>nbf</c> and <c>iat</c>, in seconds (0-300).</summary>
    public int ClockSkewSeconds { get; set; } = 60;

    /// <summary>Longest accepted token lifetime (<c>exp - iat</c>), in seconds. Epic issues 15-minute tokens.</summary>
    public int MaxTokenLifetimeSeconds { get; set; } = 900;

    /// <summary>Discovery (GET /cds-services) holds no patient data; true lets it be called without a JWT.</summary>
    public bool AllowAnonymousDiscovery { get; set; } = true;

    /// <summary>How long a fetched JWKS is used before it is fetched again (awaited, on the next call).</summary>
    public int JwksCacheSeconds { get; set; } = 3600;

    /// <summary>Least time between two JWKS fetches forced by an unknown <c>kid</c>, per issuer.</summary>
    public int JwksRefreshMinIntervalSeconds { get; set; } = 60;

    /// <summary>Time allowed for one JWKS fetch.</summary>
    public int JwksFetchTimeoutSeconds { get; set; } = 5;

    /// <summary>Where the Development issuer's key and the Development audit key live; default: .dev-keys/ at the repository root.</summary>
    public string? DevKeysDirectory { get; set; }

    public List<TrustedClientOptions> Clients { get; set; } = [];

    public RateLimitOptions RateLimit { get; set; } = new();

    public CorsAllowList Cors { get; set; } = new();

    public AuditOptions Audit { get; set; } = new();
}

/// <summary>One trusted CDS client as configured.</summary>
public sealed class TrustedClientOptions
{
    /// <summary>The exact <c>iss</c> of its JWTs.</summary>
    public string? Issuer { get; set; }

    /// <summary>Its JWKS URL (https; http only for a loopback host). The only URL its keys are fetched from.</summary>
    public string? JwksUrl { get; set; }

    /// <summary>Public keys as JWK JSON objects (each string one JWK with a <c>kid</c>); used with or instead of JwksUrl.</summary>
    public List<string> Keys { get; set; } = [];

    /// <summary>When non-empty, the <c>tenant</c> claim is required and must be one of these.</summary>
    public List<string> Tenants { get; set; } = [];

    /// <summary>Accepted signing algorithms; empty means ES384 and RS384 (the two CDS Hooks 2.0 requires).</summary>
    public List<string> Algorithms { get; set; } = [];

    /// <summary>FHIR server base URLs this issuer may name in <c>fhirServer</c>.</summary>
    public List<string> FhirServers { get; set; } = [];
}

/// <summary>Per-issuer rate limit on hook calls (fixed window).</summary>
public sealed class RateLimitOptions
{
    public int PermitLimit { get; set; } = 600;

    public int WindowSeconds { get; set; } = 60;
}

/// <summary>Browser origins allowed to call the service (exact origins; never a wildcard).</summary>
public sealed class CorsAllowList
{
    public List<string> AllowedOrigins { get; set; } = [];
}

/// <summary>Audit settings.</summary>
public sealed class AuditOptions
{
    /// <summary>Base64 key (at least 32 bytes) for the keyed HMAC-SHA256 hash of patient ids in audit records.</summary>
    public string? PatientIdHashKey { get; set; }
}
