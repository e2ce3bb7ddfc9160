using System.Security.Cryptography;
using System.Text.Json;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Review.Bulk;

/// <summary>
/// SMART Backend Services authorization (SMART App Launch 2.x, "Backend Services"): the token endpoint is discovered at
/// [base]/.well-known/smart-configuration; the client asks for a token with the client_credentials grant and
/// authenticates with a signed JWT (private_key_jwt: client_assertion_type
/// urn:ietf:params:oauth:client-assertion-type:jwt-bearer), signed ES384 or RS384 with the key whose public half the
/// server has registered (JWKS), carrying iss = sub = client_id, aud = the token endpoint, a unique jti and an exp no more
/// than five minutes ahead. The token request itself is Duende.IdentityModel's.
/// </summary>
public sealed class BackendServicesAuth(HttpClient http, BulkExportOptions options)
{
    private static readonly TimeSpan AssertionLifetime = TimeSpan.FromMinutes(5);
    private string? _tokenEndpoint;
    private string? _accessToken;
    private DateTimeOffset _expires;

    public async Task<string> GetAccessTokenAsync(bool forceNew, CancellationToken cancellationToken)
    {
        if (!forceNew && _accessToken is not null && DateTimeOffset.UtcNow < _expires)
        {
            return _accessToken;
        }

        _tokenEndpoint ??= await DiscoverTokenEndpointAsync(cancellationToken);
        var response = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = _tokenEndpoint,
            ClientId = options.ClientId,
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            ClientAssertion = new ClientAssertion { Type = OidcConstants.ClientAssertionTypes.JwtBearer, Value = CreateAssertion(_tokenEndpoint) },
            Scope = options.Scope,
        }, cancellationToken);
        if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
        {
            // The server's error code and description, never the assertion or a token.
            // Duende reports a 401 as an HTTP error ("Unauthorized"); the OAuth error code is in the body when the server sent one.
            var code = (response.Json is not null ? response.TryGet("error") : null) ?? response.Error ?? "no access_token";
            throw new BulkExportException($"the authorization server refused the token request ({(int)response.HttpStatusCode}: {code}{(response.ErrorDescription is { } d ? ": " + d : "")}).");
        }

        _accessToken = response.AccessToken;
        // Renew a minute early so a long download never carries an expired token; at least 30 s of use.
        _expires = DateTimeOffset.UtcNow.AddSeconds(Math.Max(30, (response.ExpiresIn > 0 ? response.ExpiresIn : 300) - 60));
        return _accessToken;
    }

    private async Task<string> DiscoverTokenEndpointAsync(CancellationToken cancellationToken)
    {
        var url = new Uri(options.FhirBaseUrl, ".well-known/smart-configuration");
        using var response = await http.GetAsync(url, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new BulkExportException($"no SMART configuration at {url} ({(int)response.StatusCode}).");
        }

        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken));
            if (document.RootElement.TryGetProperty("token_endpoint", out var endpoint) && endpoint.ValueKind == JsonValueKind.String
                && Uri.TryCreate(endpoint.GetString(), UriKind.Absolute, out var tokenUrl)
                && (tokenUrl.Scheme == "https" || tokenUrl.IsLoopback))
            {
                return tokenUrl.ToString();
            }
        }
        catch (JsonException)
        {
        }

        throw new BulkExportException($"the SMART configuration at {url} names no usable (https) token_endpoint.");
    }

    internal string CreateAssertion(string audience)
    {
        SecurityKey key;
        if (options.Algorithm == SecurityAlgorithms.EcdsaSha384)
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(options.PrivateKeyPem);
            key = new ECDsaSecurityKey(ec) { KeyId = options.KeyId };
        }
        else
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(options.PrivateKeyPem);
            key = new RsaSecurityKey(rsa) { KeyId = options.KeyId };
        }

        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.ClientId,
            Audience = audience,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = options.ClientId,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            IssuedAt = now,
            NotBefore = now,
            Expires = now + AssertionLifetime,
            SigningCredentials = new SigningCredentials(key, options.Algorithm),
        });
    }
}
