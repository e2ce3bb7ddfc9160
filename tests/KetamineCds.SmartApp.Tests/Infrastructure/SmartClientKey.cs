using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// A private_key_jwt client key made for the test run (ES384 on P-384 or RS384 on RSA 2048): its public JWKS goes to the
/// authorization server in <see cref="SmartClientRegistration.PublicJwksJson"/>, its private key (PKCS#8 PEM) to the app
/// under test; <see cref="CreateClientAssertion"/> signs an assertion as SMART's asymmetric client authentication does.
/// </summary>
public sealed class SmartClientKey : IDisposable
{
    private readonly AsymmetricAlgorithm _key;
    private readonly SecurityKey _securityKey;

    private SmartClientKey(string algorithm, AsymmetricAlgorithm key, SecurityKey securityKey, JsonWebKey publicJwk)
    {
        Algorithm = algorithm;
        _key = key;
        _securityKey = securityKey;
        KeyId = securityKey.KeyId;
        PublicJwksJson = JsonSerializer.Serialize(new { keys = new[] { ToJson(publicJwk, algorithm) } });
    }

    /// <summary>"ES384" or "RS384".</summary>
    public string Algorithm { get; }

    public string KeyId { get; }

    /// <summary>{"keys":[{...public key, kid, alg, use:"sig"}]}</summary>
    public string PublicJwksJson { get; }

    public string PrivateKeyPem => _key switch
    {
        ECDsa ec => ec.ExportPkcs8PrivateKeyPem(),
        RSA rsa => rsa.ExportPkcs8PrivateKeyPem(),
        _ => throw new InvalidOperationException(),
    };

    public static SmartClientKey Create(string algorithm)
    {
        var kid = $"test-{algorithm.ToUpperInvariant()}-{Guid.NewGuid():N}"[..24];
        switch (algorithm)
        {
            case SecurityAlgorithms.EcdsaSha384:
            {
                var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
                var key = new ECDsaSecurityKey(ec) { KeyId = kid };
                var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false))) { KeyId = kid });
                return new SmartClientKey(algorithm, ec, key, jwk);
            }

            case SecurityAlgorithms.RsaSha384:
            {
                var rsa = RSA.Create(2048);
                var key = new RsaSecurityKey(rsa) { KeyId = kid };
                var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = kid });
                return new SmartClientKey(algorithm, rsa, key, jwk);
            }

            default:
                throw new ArgumentException("SMART asymmetric client authentication uses ES384 or RS384.", nameof(algorithm));
        }
    }

    /// <summary>A client assertion (iss = sub = client id, aud = token endpoint, unique jti, 5 min expiry).</summary>
    public string CreateClientAssertion(string clientId, string tokenEndpoint)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = tokenEndpoint,
            Claims = new Dictionary<string, object> { ["sub"] = clientId, ["jti"] = Guid.NewGuid().ToString("N") },
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(_securityKey, Algorithm),
        });
    }

    public void Dispose() => _key.Dispose();

    private static Dictionary<string, string> ToJson(JsonWebKey jwk, string algorithm)
    {
        var d = new Dictionary<string, string> { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["alg"] = algorithm, ["use"] = "sig" };
        if (jwk.Kty == "EC")
        {
            d["crv"] = jwk.Crv;
            d["x"] = jwk.X;
            d["y"] = jwk.Y;
        }
        else
        {
            d["n"] = jwk.N;
            d["e"] = jwk.E;
        }

        return d;
    }
}
