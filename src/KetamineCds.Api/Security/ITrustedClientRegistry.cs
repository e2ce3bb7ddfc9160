using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Security;

/// <summary>
/// The CDS clients (EHRs) this deployment trusts, as configured under <c>KetamineCds:Security:Clients</c>.
/// Read by authentication (keys, algorithms, tenants) and by the FHIR-server fallback (which servers an issuer may name).
/// </summary>
public interface ITrustedClientRegistry
{
    /// <summary>The trusted client whose <c>iss</c> equals <paramref name="issuer"/> exactly (ordinal), or null.</summary>
    TrustedClient? Find(string issuer);

    /// <summary>Every trusted client, in configuration order.</summary>
    IReadOnlyList<TrustedClient> All { get; }
}

/// <summary>One trusted CDS client, validated at start-up.</summary>
/// <param name="Issuer">The exact <c>iss</c> value the client puts in its JWTs.</param>
/// <param name="JwksUrl">The registered JWKS URL: the only place its keys are fetched from, and the only <c>jku</c> accepted.</param>
/// <param name="InlineKeys">Public keys given in configuration (used alongside, or instead of, the JWKS URL).</param>
/// <param name="Tenants">When non-empty, the <c>tenant</c> claim is required and must be one of these.</param>
/// <param name="Algorithms">Signing algorithms accepted from this issuer (never <c>none</c> or HMAC).</param>
/// <param name="FhirServers">FHIR server base URLs this issuer may name in <c>fhirServer</c>; nothing else may be contacted.</param>
public sealed record TrustedClient(
    string Issuer,
    Uri? JwksUrl,
    IReadOnlyList<JsonWebKey> InlineKeys,
    IReadOnlyList<string> Tenants,
    IReadOnlyList<string> Algorithms,
    IReadOnlyList<Uri> FhirServers);
