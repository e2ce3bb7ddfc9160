using System.Diagnostics.CodeAnalysis;
using KetamineCds.Api.Security;
using KetamineCds.Fhir.Fallback;

namespace KetamineCds.Api.FhirAccess;

/// <summary>
/// The FHIR servers a caller may name: those its trusted-client entry lists (<c>KetamineCds:Security:Clients:n:FhirServers</c>,
/// bound to that issuer) and those of <c>KetamineCds:FhirServers</c> (which may also allow private addresses). A server
/// listed for one issuer is never reachable through another's token.
/// </summary>
public sealed class TrustedClientFhirServerAllowList(ITrustedClientRegistry clients, ConfiguredFhirServerAllowList configured) : IFhirServerAllowList
{
    public bool IsAllowed(string? issuer, Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match)
    {
        if (configured.IsAllowed(issuer, fhirServer, out match))
        {
            return true;
        }

        var client = issuer is null ? null : clients.Find(issuer);
        return TryMatch(client?.FhirServers ?? [], fhirServer, out match);
    }

    public bool IsListed(Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match) =>
        configured.IsListed(fhirServer, out match)
        || TryMatch(clients.All.SelectMany(c => c.FhirServers), fhirServer, out match);

    private static bool TryMatch(IEnumerable<Uri> servers, Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match)
    {
        match = null;
        if (!FhirServerUrls.IsPlainBase(fhirServer))
        {
            return false;
        }

        var listed = servers.FirstOrDefault(s => FhirServerUrls.SameBase(s, fhirServer));
        match = listed is null ? null : new AllowedFhirServer(listed, AllowPrivateAddress: false);
        return match is not null;
    }
}
