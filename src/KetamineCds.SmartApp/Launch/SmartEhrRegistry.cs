using System.Diagnostics.CodeAnalysis;
using KetamineCds.Fhir.Fallback;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp.Launch;

/// <summary>An <c>iss</c> matched to its registration; <see cref="FhirBase"/> is the iss as sent (normalized, no trailing slash).</summary>
public sealed record MatchedEhr(SmartEhrRegistration Registration, Uri FhirBase);

/// <summary>
/// The allow-list of EHRs. <c>iss</c> is untrusted input from the launch URL: it is parsed, compared with the
/// registrations, and refused unless it matches one, before anything is fetched from it or redirected to it (no SSRF,
/// no open redirect). The same list is the FHIR-read allow-list (<see cref="IFhirServerAllowList"/>), so the app reads
/// FHIR only from a registered EHR.
/// </summary>
public sealed class SmartEhrRegistry(IOptions<SmartAppOptions> options) : IFhirServerAllowList
{
    public bool TryMatch(string? iss, [NotNullWhen(true)] out MatchedEhr? match, out string reason)
    {
        match = null;
        if (string.IsNullOrWhiteSpace(iss) || iss.Length > 2048)
        {
            reason = "the launch did not name the EHR's FHIR server (iss)";
            return false;
        }

        if (!Uri.TryCreate(iss.Trim(), UriKind.Absolute, out var url) || !FhirServerUrls.IsPlainBase(url) || url.AbsolutePath.Contains("/../", StringComparison.Ordinal)
            || url.OriginalString.Contains('\\', StringComparison.Ordinal))
        {
            reason = "the FHIR server address (iss) is not a plain http(s) URL";
            return false;
        }

        var o = options.Value;
        if (url.Scheme != Uri.UriSchemeHttps && !(o.AllowHttpLoopback && url.IsLoopback))
        {
            reason = "the FHIR server address (iss) does not use https";
            return false;
        }

        foreach (var ehr in o.Ehrs)
        {
            if (ehr.Iss is not { } registered)
            {
                continue;
            }

            if (FhirServerUrls.SameBase(registered, url) || (ehr.AcceptIssUnderBase && IsUnder(registered, url)))
            {
                match = new MatchedEhr(ehr, new Uri(url.GetLeftPart(UriPartial.Path).TrimEnd('/')));
                reason = "registered";
                return true;
            }
        }

        reason = "this FHIR server (iss) is not registered with this app";
        return false;
    }

    /// <summary>Same origin, and the path is the registered one or lies below it (on a segment boundary).</summary>
    private static bool IsUnder(Uri registered, Uri candidate)
    {
        if (!FhirServerUrls.SameOrigin(registered, candidate))
        {
            return false;
        }

        var basePath = registered.AbsolutePath.TrimEnd('/') + "/";
        return (candidate.AbsolutePath.TrimEnd('/') + "/").StartsWith(basePath, StringComparison.Ordinal);
    }

    public bool IsAllowed(string? issuer, Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match) => IsListed(fhirServer, out match);

    public bool IsListed(Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match)
    {
        ArgumentNullException.ThrowIfNull(fhirServer);
        match = null;
        if (!TryMatch(fhirServer.OriginalString, out var ehr, out _))
        {
            return false;
        }

        match = new AllowedFhirServer(ehr.FhirBase, ehr.Registration.AllowPrivateAddress);
        return true;
    }
}
