using System.Diagnostics.CodeAnalysis;

namespace KetamineCds.Fhir.Fallback;

/// <summary>A FHIR server base URL on the allow-list, and whether it may resolve to a private address.</summary>
public sealed record AllowedFhirServer(Uri BaseUrl, bool AllowPrivateAddress);

/// <summary>
/// Which FHIR servers the service may read from. <c>fhirServer</c> in a hook request is untrusted input: it is used only
/// when it matches an entry exactly (scheme, host, port and path; no query, no user info).
/// </summary>
public interface IFhirServerAllowList
{
    /// <summary>Whether the calling client (its JWT issuer; null when the call carried none) may name this FHIR server.</summary>
    bool IsAllowed(string? issuer, Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match);

    /// <summary>Whether any client may name it: the fetcher's own check, which does not know the caller.</summary>
    bool IsListed(Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match);
}

/// <summary>Compares FHIR server URLs the way the allow-list does.</summary>
public static class FhirServerUrls
{
    /// <summary>Same scheme, host and port (the browser's notion of origin).</summary>
    public static bool SameOrigin(Uri a, Uri b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.IsAbsoluteUri && b.IsAbsoluteUri
            && string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
            && a.Port == b.Port;
    }

    /// <summary>Same origin and the same path (a trailing slash aside; paths are case-sensitive).</summary>
    public static bool SameBase(Uri a, Uri b) =>
        SameOrigin(a, b)
        && string.Equals(a.AbsolutePath.TrimEnd('/'), b.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>A URL that could be a FHIR base at all: absolute http(s), no user info, query or fragment.</summary>
    public static bool IsPlainBase(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.IsAbsoluteUri
            && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
            && string.IsNullOrEmpty(url.UserInfo)
            && string.IsNullOrEmpty(url.Query)
            && string.IsNullOrEmpty(url.Fragment);
    }
}
