namespace KetamineCds.Api.FhirAccess;

/// <summary>
/// One allow-listed FHIR server (configuration "KetamineCds:FhirServers": a list of these objects, because a
/// dictionary keyed by URL binds empty: ':' is the configuration separator).
/// </summary>
public sealed class FhirServerEntry
{
    /// <summary>The JWT issuer that may name this server; null lets any caller name it (development and tests).</summary>
    public string? Issuer { get; set; }

    /// <summary>The FHIR base URL exactly as clients send it in fhirServer (a trailing slash does not matter).</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The server may resolve to a private, link-local or unique-local address (an EHR inside the hospital network).</summary>
    public bool AllowPrivateAddress { get; set; }
}

public sealed class FhirServerAllowListOptions
{
    public const string Section = "KetamineCds:FhirServers";

    public IList<FhirServerEntry> Servers { get; } = [];
}
