using System.Net;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Security;

/// <summary>The configured trusted clients (plus, in Development only, the development issuer), validated at start-up.</summary>
public sealed class TrustedClientRegistry : ITrustedClientRegistry
{
    private readonly Dictionary<string, TrustedClient> byIssuer;

    public TrustedClientRegistry(IEnumerable<TrustedClient> clients)
    {
        All = [.. clients];
        byIssuer = All.ToDictionary(c => c.Issuer, StringComparer.Ordinal);
    }

    public IReadOnlyList<TrustedClient> All { get; }

    public TrustedClient? Find(string issuer) =>
        issuer is not null && byIssuer.TryGetValue(issuer, out var client) ? client : null;

    /// <summary>CDS Hooks 2.0 requires services to support ES384 and RS384; these are the default.</summary>
    public static readonly IReadOnlyList<string> DefaultAlgorithms = [SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.RsaSha384];

    /// <summary>
    /// Asymmetric algorithms a site may allow. <c>none</c> and HMAC (HS*) are never acceptable: HMAC would need a secret
    /// shared with the EHR, and the classic attack signs HS256 with the public key as the secret.
    /// </summary>
    public static readonly IReadOnlySet<string> PermittedAlgorithms = new HashSet<string>(StringComparer.Ordinal)
    {
        "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    };

    /// <summary>Turns one configured client into a TrustedClient, or lists what is wrong with it.</summary>
    public static TrustedClient? Parse(TrustedClientOptions options, int index, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        var where = $"KetamineCds:Security:Clients:{index}";
        var before = errors.Count;
        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            errors.Add($"{where}:Issuer is required.");
        }

        Uri? jwksUrl = null;
        if (!string.IsNullOrWhiteSpace(options.JwksUrl))
        {
            jwksUrl = ParseSafeUrl(options.JwksUrl, $"{where}:JwksUrl", errors);
        }

        var keys = new List<JsonWebKey>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = ParseKey(options.Keys[i], $"{where}:Keys:{i}", errors);
            if (key is not null)
            {
                keys.Add(key);
            }
        }

        if (jwksUrl is null && options.Keys.Count == 0)
        {
            errors.Add($"{where}: give JwksUrl or Keys (the issuer's public keys).");
        }

        var algorithms = options.Algorithms.Count == 0 ? DefaultAlgorithms : options.Algorithms;
        foreach (var algorithm in algorithms.Where(a => !PermittedAlgorithms.Contains(a)))
        {
            errors.Add($"{where}:Algorithms: '{algorithm}' is refused (only asymmetric ES*/RS*/PS* algorithms; never none or HMAC).");
        }

        var fhirServers = new List<Uri>();
        for (var i = 0; i < options.FhirServers.Count; i++)
        {
            if (Uri.TryCreate(options.FhirServers[i], UriKind.Absolute, out var server)
                && (server.Scheme == Uri.UriSchemeHttps || server.Scheme == Uri.UriSchemeHttp) && string.IsNullOrEmpty(server.Query))
            {
                fhirServers.Add(server);
            }
            else
            {
                errors.Add($"{where}:FhirServers:{i} must be an absolute http(s) base URL without a query.");
            }
        }

        return errors.Count > before
            ? null
            : new TrustedClient(options.Issuer!, jwksUrl, keys, [.. options.Tenants.Where(t => !string.IsNullOrWhiteSpace(t))],
                [.. algorithms], fhirServers);
    }

    /// <summary>An absolute URL that is https, or http only for a loopback host (a local sidecar, development, tests).</summary>
    public static Uri? ParseSafeUrl(string value, string where, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(url.Fragment) || !string.IsNullOrEmpty(url.UserInfo))
        {
            errors.Add($"{where} must be an absolute https URL.");
            return null;
        }

        if (url.Scheme == Uri.UriSchemeHttp && !IsLoopback(url))
        {
            errors.Add($"{where} must use https (plain http is accepted only for a loopback host).");
            return null;
        }

        return url;
    }

    public static bool IsLoopback(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.IsLoopback || (IPAddress.TryParse(url.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));
    }

    private static JsonWebKey? ParseKey(string json, string where, List<string> errors)
    {
        JsonWebKey key;
        try
        {
            key = new JsonWebKey(json);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or InvalidOperationException)
        {
            errors.Add($"{where} is not a JWK JSON object.");
            return null;
        }

        if (key.Kty is not (JsonWebAlgorithmsKeyTypes.EllipticCurve or JsonWebAlgorithmsKeyTypes.RSA))
        {
            errors.Add($"{where}: kty must be EC or RSA (symmetric keys are refused).");
            return null;
        }

        if (!string.IsNullOrEmpty(key.D) || key.HasPrivateKey)
        {
            errors.Add($"{where} holds private key material: configure the public key only, and replace the leaked key.");
            return null;
        }

        if (string.IsNullOrEmpty(key.Kid))
        {
            errors.Add($"{where} needs a kid (CDS Hooks 2.0 requires kid in the JWT header).");
            return null;
        }

        return key;
    }
}
