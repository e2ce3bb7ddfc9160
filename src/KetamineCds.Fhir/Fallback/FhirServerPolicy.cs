using System.Net;
using Microsoft.Extensions.Options;

namespace KetamineCds.Fhir.Fallback;

/// <summary>The decision on a request's <c>fhirServer</c>: allowed with its allow-list entry, or refused with a reason.</summary>
public sealed record FhirServerDecision(bool Allowed, AllowedFhirServer? Server, string Reason)
{
    public static FhirServerDecision Refuse(string reason) => new(false, null, reason);
}

/// <summary>
/// Decides, before any network I/O, whether <c>fhirServer</c> may be used: https (plain http only to loopback and only
/// with AllowHttpLoopback), on the allow-list (for the calling issuer), and not a literal forbidden IP address. Names
/// are checked again when connecting (<see cref="FhirHttp"/>), where the resolved addresses are known.
/// </summary>
public sealed class FhirServerPolicy(IFhirServerAllowList allowList, IOptions<FhirFallbackOptions> options)
{
    /// <summary>For the hook handler, which knows the caller (null issuer: the call carried no verified token).</summary>
    public FhirServerDecision Evaluate(string? issuer, Uri fhirServer) => Evaluate(fhirServer, issuer, anyIssuer: false);

    /// <summary>For the fetcher, which runs after the handler's check and does not know the caller.</summary>
    public FhirServerDecision EvaluateListed(Uri fhirServer) => Evaluate(fhirServer, null, anyIssuer: true);

    private FhirServerDecision Evaluate(Uri fhirServer, string? issuer, bool anyIssuer)
    {
        ArgumentNullException.ThrowIfNull(fhirServer);
        if (!FhirServerUrls.IsPlainBase(fhirServer))
        {
            return FhirServerDecision.Refuse("fhirServer must be an absolute https URL without user info, query or fragment.");
        }

        var allowLoopback = options.Value.AllowHttpLoopback;
        if (fhirServer.Scheme != Uri.UriSchemeHttps && !(allowLoopback && fhirServer.IsLoopback))
        {
            return FhirServerDecision.Refuse("fhirServer must use https.");
        }

        var listed = anyIssuer
            ? allowList.IsListed(fhirServer, out var match)
            : allowList.IsAllowed(issuer, fhirServer, out match);
        if (!listed || match is null)
        {
            return FhirServerDecision.Refuse("fhirServer is not on this service's FHIR server allow-list for the calling client.");
        }

        if (IPAddress.TryParse(fhirServer.IdnHost, out var literal))
        {
            var addressClass = AddressPolicy.Classify(literal);
            if (!AddressPolicy.IsPermitted(addressClass, match.AllowPrivateAddress, allowLoopback))
            {
                return FhirServerDecision.Refuse($"fhirServer names a {addressClass} address, which this service does not connect to.");
            }
        }

        return new FhirServerDecision(true, match, "allowed");
    }
}
