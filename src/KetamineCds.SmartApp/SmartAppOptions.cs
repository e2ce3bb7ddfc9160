using System.ComponentModel.DataAnnotations;

namespace KetamineCds.SmartApp;

/// <summary>How the app authenticates to an EHR's token endpoint (SMART App Launch 2.0, "Client Authentication").</summary>
public enum SmartClientAuthentication
{
    /// <summary>A public client: PKCE only, no secret (SMART "public app").</summary>
    None,

    /// <summary>A confidential client with a shared secret in the Authorization header (RFC 6749 2.3.1).</summary>
    ClientSecretBasic,

    /// <summary>A confidential asymmetric client: a signed JWT assertion (RFC 7523, SMART "confidential asymmetric").</summary>
    PrivateKeyJwt,
}

/// <summary>One EHR the app may be launched from: its FHIR base (the <c>iss</c>), and how the app signs in there.</summary>
public sealed class SmartEhrRegistration
{
    /// <summary>A short name for logs and pages ("epic-prod", "smart-launcher").</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>The FHIR base URL the EHR sends as <c>iss</c>; compared exactly (scheme, host, port, path; no query).</summary>
    [Required]
    public Uri? Iss { get; set; }

    /// <summary>
    /// Also accept an <c>iss</c> of the same origin whose path lies under <see cref="Iss"/> (the SMART Health IT launcher
    /// encodes its simulated launch in the path, e.g. <c>/v/r4/sim/eyJ.../fhir</c>). Only that origin is ever contacted.
    /// </summary>
    public bool AcceptIssUnderBase { get; set; }

    [Required]
    public string ClientId { get; set; } = "";

    public SmartClientAuthentication ClientAuthentication { get; set; } = SmartClientAuthentication.None;

    /// <summary>For client_secret_basic; from a secret store or environment variable, never committed.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>For private_key_jwt: the PEM private key (EC P-384 for ES384, RSA for RS384).</summary>
    public string? PrivateKeyPem { get; set; }

    /// <summary>For private_key_jwt: ES384 or RS384 (SMART App Launch 2.0 requires servers to support both).</summary>
    public string SigningAlgorithm { get; set; } = "ES384";

    /// <summary>For private_key_jwt: the <c>kid</c> of the key as published in the app's registered JWKS.</summary>
    public string? KeyId { get; set; }

    /// <summary>The FHIR server may resolve to a private (RFC 1918) address: an EHR inside the hospital network.</summary>
    public bool AllowPrivateAddress { get; set; }

    /// <summary>Scopes added to the app's own (e.g. <c>online_access</c> where the EHR grants refresh tokens for it).</summary>
    public IList<string> ExtraScopes { get; set; } = [];
}

/// <summary>Settings of the SMART app (section "KetamineCds:SmartApp"). docs/smart-app.md</summary>
public sealed class SmartAppOptions
{
    public const string Section = "KetamineCds:SmartApp";

    /// <summary>Mount the app at all (the host maps /app only when true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The app's public base URL (scheme, host, port; the app lives under /app). The redirect URI registered with each
    /// EHR is {PublicBaseUrl}/app/callback. When empty, KetamineCds:Security:PublicBaseUrl is used.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>The EHRs the app may be launched from; an <c>iss</c> not listed here is refused before anything is fetched.</summary>
    public IList<SmartEhrRegistration> Ehrs { get; set; } = [];

    /// <summary>Origins allowed to frame the app (CSP frame-ancestors), e.g. the EHR's web origin. Empty: 'self' only.</summary>
    public IList<string> FrameAncestors { get; set; } = [];

    /// <summary>Plain http to loopback FHIR and authorization servers (local trial and tests only).</summary>
    public bool AllowHttpLoopback { get; set; }

    /// <summary>How long a launch may take between the redirect to the EHR and the callback.</summary>
    [Range(30, 3600)]
    public int LaunchTimeoutSeconds { get; set; } = 600;

    /// <summary>The longest a session lasts even with refresh tokens (the user then relaunches from the EHR).</summary>
    [Range(60, 24 * 3600)]
    public int MaxSessionSeconds { get; set; } = 8 * 3600;

    /// <summary>Sessions kept at most (in memory); the oldest are dropped beyond it.</summary>
    [Range(10, 1_000_000)]
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>Time for all FHIR reads of one page (every search, page and retry).</summary>
    [Range(500, 120_000)]
    public int FhirDeadlineMilliseconds { get; set; } = 15_000;

    /// <summary>One FHIR HTTP attempt (headers and body).</summary>
    [Range(100, 60_000)]
    public int FhirAttemptTimeoutMilliseconds { get; set; } = 5_000;

    /// <summary>How long one FHIR server's circuit stays open after repeated failures before a trial call.</summary>
    [Range(1, 3600)]
    public int FhirCircuitBreakSeconds { get; set; } = 15;

    /// <summary>Time for discovery and token requests.</summary>
    [Range(500, 60_000)]
    public int AuthorizationTimeoutMilliseconds { get; set; } = 10_000;
}
