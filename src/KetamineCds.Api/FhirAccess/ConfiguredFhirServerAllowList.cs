using System.Diagnostics.CodeAnalysis;
using KetamineCds.Fhir.Fallback;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.FhirAccess;

/// <summary>The allow-list from configuration. The lead may later bridge it to the trusted-client registry.</summary>
public sealed class ConfiguredFhirServerAllowList(IOptionsMonitor<FhirServerAllowListOptions> options) : IFhirServerAllowList
{
    public bool IsAllowed(string? issuer, Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match) =>
        TryFind(fhirServer, e => e.Issuer is null || string.Equals(e.Issuer, issuer, StringComparison.Ordinal), out match);

    public bool IsListed(Uri fhirServer, [NotNullWhen(true)] out AllowedFhirServer? match) =>
        TryFind(fhirServer, _ => true, out match);

    private bool TryFind(Uri fhirServer, Func<FhirServerEntry, bool> callerMatches, [NotNullWhen(true)] out AllowedFhirServer? match)
    {
        ArgumentNullException.ThrowIfNull(fhirServer);
        match = null;
        if (!FhirServerUrls.IsPlainBase(fhirServer))
        {
            return false;
        }

        foreach (var entry in options.CurrentValue.Servers)
        {
            if (entry.BaseUrl is { } baseUrl && callerMatches(entry) && FhirServerUrls.SameBase(baseUrl, fhirServer))
            {
                // The same URL listed twice (for two issuers) keeps the most restrictive address setting.
                match = match is null
                    ? new AllowedFhirServer(baseUrl, entry.AllowPrivateAddress)
                    : match with { AllowPrivateAddress = match.AllowPrivateAddress && entry.AllowPrivateAddress };
            }
        }

        return match is not null;
    }
}
