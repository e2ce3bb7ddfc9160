using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Tests.Security;

/// <summary>
/// A CDS client for tests: an issuer with freshly generated ES384 and RS384 keys, configured into the service through the
/// factory's configuration, and a method that signs a valid token for a service id.
/// <para>Use in any WebApplicationFactory&lt;Program&gt; test:</para>
/// <code>
/// factory.WithWebHostBuilder(b => TestTokens.Default.ConfigureTrust(b));
/// request.Headers.Authorization = TestTokens.Default.BearerFor("ketamine-order-sign");   // one per request: jti is single-use
/// </code>
/// </summary>
public sealed class TestTokens
{
    public const string PublicBaseUrl = "https://cds.test.invalid";

    /// <summary>The test issuer used by most tests (created once per test run; its keys never leave the process).</summary>
    public static TestTokens Default { get; } = new("https://ehr-a.test.invalid/cds-client");

    public TestTokens(string issuer)
    {
        Issuer = issuer;
        EcKey = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = issuer + "#es384" };
        RsaKey = new RsaSecurityKey(RSA.Create(2048)) { KeyId = issuer + "#rs384" };
    }

    public string Issuer { get; }

    public ECDsaSecurityKey EcKey { get; }

    public RsaSecurityKey RsaKey { get; }

    public static string Audience(string serviceId) => $"{PublicBaseUrl}/cds-services/{serviceId}";

    /// <summary>Configuration entries that make the service trust this issuer (as client number <paramref name="index"/>).</summary>
    public Dictionary<string, string?> ClientSettings(int index = 0, string? jwksUrl = null, bool inlineKeys = true, params string[] tenants)
    {
        var prefix = $"KetamineCds:Security:Clients:{index}:";
        var settings = new Dictionary<string, string?> { [prefix + "Issuer"] = Issuer };
        if (inlineKeys)
        {
            settings[prefix + "Keys:0"] = PublicJwkJson(EcKey);
            settings[prefix + "Keys:1"] = PublicJwkJson(RsaKey);
        }

        if (jwksUrl is not null)
        {
            settings[prefix + "JwksUrl"] = jwksUrl;
        }

        for (var i = 0; i < tenants.Length; i++)
        {
            settings[$"{prefix}Tenants:{i}"] = tenants[i];
        }

        return settings;
    }

    /// <summary>Testing environment, the public base URL, and this issuer as the one trusted client.</summary>
    public void ConfigureTrust(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Testing");
        var settings = ClientSettings();
        settings["KetamineCds:Security:PublicBaseUrl"] = PublicBaseUrl;
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(settings));
    }

    /// <summary>A valid ES384 token for POST /cds-services/{serviceId}: 5-minute lifetime, fresh jti.</summary>
    public string For(string serviceId) => Sign(Audience(serviceId));

    public AuthenticationHeaderValue BearerFor(string serviceId) => new("Bearer", For(serviceId));

    /// <summary>Signs a token; every part can be changed for negative tests.</summary>
    public string Sign(
        string audience,
        SecurityKey? key = null,
        string algorithm = SecurityAlgorithms.EcdsaSha384,
        string? issuer = null,
        DateTime? issuedAt = null,
        DateTime? notBefore = null,
        DateTime? expires = null,
        bool includeJti = true,
        string? jti = null,
        string? tenant = null,
        IDictionary<string, object>? extraHeaders = null)
    {
        var now = DateTime.UtcNow;
        var claims = new List<Claim>();
        if (includeJti)
        {
            claims.Add(new Claim(JwtRegisteredClaimNames.Jti, jti ?? Guid.NewGuid().ToString()));
        }

        if (tenant is not null)
        {
            claims.Add(new Claim("tenant", tenant));
        }

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            IssuedAt = issuedAt ?? now,
            NotBefore = notBefore,
            Expires = expires ?? (issuedAt ?? now).AddMinutes(5),
            Subject = new ClaimsIdentity(claims),
            AdditionalHeaderClaims = extraHeaders,
            SigningCredentials = new SigningCredentials(key ?? EcKey, algorithm),
        });
    }

    /// <summary>The public half of a key as JWK JSON, as an EHR would publish it.</summary>
    public static string PublicJwkJson(SecurityKey key) => key switch
    {
        ECDsaSecurityKey ec => Jwk(ec.KeyId, ec.ECDsa.ExportParameters(false)),
        RsaSecurityKey rsa => $$"""{"kty":"RSA","kid":"{{rsa.KeyId}}","use":"sig","n":"{{B64(rsa.Rsa.ExportParameters(false).Modulus!)}}","e":"{{B64(rsa.Rsa.ExportParameters(false).Exponent!)}}"}""",
        _ => throw new ArgumentException("EC or RSA keys only", nameof(key)),
    };

    public static string JwksJson(params SecurityKey[] keys) => $$"""{"keys":[{{string.Join(",", keys.Select(PublicJwkJson))}}]}""";

    private static string Jwk(string kid, ECParameters p)
    {
        var crv = p.Curve.Oid.FriendlyName switch { "nistP256" or "ECDSA_P256" => "P-256", "nistP384" or "ECDSA_P384" => "P-384", _ => "P-521" };
        return $$"""{"kty":"EC","kid":"{{kid}}","use":"sig","crv":"{{crv}}","x":"{{B64(p.Q.X!)}}","y":"{{B64(p.Q.Y!)}}"}""";
    }

    private static string B64(byte[] bytes) => Base64UrlEncoder.Encode(bytes);

    /// <summary>Base64url of UTF-8 JSON, for hand-built tokens (alg none, tampering).</summary>
    public static string Segment(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
}
