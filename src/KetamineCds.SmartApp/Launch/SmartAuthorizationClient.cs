using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.SmartApp.Launch;

/// <summary>What the app needs from an EHR's /.well-known/smart-configuration.</summary>
public sealed record SmartConfiguration(string AuthorizationEndpoint, string TokenEndpoint, bool V1Only, IReadOnlyList<string> TokenAuthMethods);

/// <summary>The token response, reduced to what the session keeps.</summary>
public sealed record SmartTokens(string AccessToken, string? RefreshToken, int ExpiresInSeconds, string? Scope, string? Patient, string? AppContext);

/// <summary>
/// The OAuth side of SMART App Launch 2.0, through Duende.IdentityModel: discovery (smart-configuration), the
/// authorize URL (code + PKCE S256 + state + aud + launch), the code exchange and refresh, with the registered client
/// authentication (public, client_secret_basic, or a private_key_jwt assertion signed ES384/RS384).
/// </summary>
public sealed partial class SmartAuthorizationClient(
    IHttpClientFactory httpClients,
    IOptions<SmartAppOptions> options,
    TimeProvider time,
    ILogger<SmartAuthorizationClient> logger)
{
    public const string HttpClientName = "KetamineCds.SmartApp.Authorization";

    private readonly ConcurrentDictionary<string, SigningCredentials> _signingKeys = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads the EHR's SMART configuration from {iss}/.well-known/smart-configuration, at every launch (one small GET; an
    /// EHR that moves its endpoints or changes its scopes is followed at once).
    /// </summary>
    public async Task<SmartConfiguration> DiscoverAsync(MatchedEhr ehr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        var key = ehr.FhirBase.AbsoluteUri;

        var http = httpClients.CreateClient(HttpClientName);
        var loopback = options.Value.AllowHttpLoopback;
        var document = await http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
        {
            Address = key,
            Policy = new DiscoveryPolicy
            {
                DiscoveryDocumentPath = ".well-known/smart-configuration",
                // The SMART configuration's issuer (if any) is the OpenID issuer, not the FHIR base; its endpoints may be on
                // another host than the FHIR server. The document itself comes only from a registered iss.
                ValidateIssuerName = false,
                ValidateEndpoints = false,
                RequireKeySet = false,
                RequireHttps = true,
                AllowHttpOnLoopback = loopback,
            },
        }, cancellationToken);

        if (document.IsError)
        {
            LogDiscoveryFailed(logger, ehr.Registration.Name, document.ErrorType.ToString());
            throw new SmartProblemException(SmartProblemKind.DiscoveryFailed, "The EHR's SMART configuration could not be read.");
        }

        var authorize = document.AuthorizeEndpoint;
        var token = document.TokenEndpoint;
        if (!IsUsableEndpoint(authorize, loopback) || !IsUsableEndpoint(token, loopback))
        {
            LogDiscoveryFailed(logger, ehr.Registration.Name, "endpoints");
            throw new SmartProblemException(SmartProblemKind.DiscoveryFailed, "The EHR's SMART configuration has no usable authorization or token endpoint.");
        }

        // PKCE S256 is required by SMART App Launch 2.0; a server that does not list it is not trusted to check it.
        var challengeMethods = document.CodeChallengeMethodsSupported?.ToList() ?? [];
        if (!challengeMethods.Contains(OidcConstants.CodeChallengeMethods.Sha256, StringComparer.Ordinal))
        {
            LogDiscoveryFailed(logger, ehr.Registration.Name, "no-pkce-s256");
            throw new SmartProblemException(SmartProblemKind.DiscoveryFailed, "The EHR's authorization server does not advertise PKCE with S256, which this app requires.");
        }

        var capabilities = document.TryGetStringArray("capabilities")?.ToList() ?? [];
        var scopes = document.ScopesSupported?.ToList() ?? [];
        var configuration = new SmartConfiguration(authorize!, token!, SmartScopes.ServerIsV1Only(capabilities, scopes),
            document.TokenEndpointAuthenticationMethodsSupported?.ToList() ?? []);
        return configuration;
    }

    /// <summary>The authorize URL: response_type=code, PKCE S256, state, aud = the FHIR base, launch (EHR launch only).</summary>
    public static string AuthorizeUrl(SmartConfiguration configuration, MatchedEhr ehr, string scope, string redirectUri, string state, string codeVerifier, string? launch)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(ehr);
        var extra = new Parameters { { "aud", ehr.FhirBase.AbsoluteUri } };
        if (launch is not null)
        {
            extra.Add("launch", launch);
        }

        return new RequestUrl(configuration.AuthorizationEndpoint).CreateAuthorizeUrl(
            clientId: ehr.Registration.ClientId,
            responseType: OidcConstants.ResponseTypes.Code,
            scope: scope,
            redirectUri: redirectUri,
            state: state,
            codeChallenge: CodeChallenge(codeVerifier),
            codeChallengeMethod: OidcConstants.CodeChallengeMethods.Sha256,
            extra: extra);
    }

    /// <summary>A fresh PKCE code verifier (RFC 7636: 43-128 characters from the unreserved set; 32 random bytes, base64url).</summary>
    public static string NewCodeVerifier() => CryptoRandom.CreateUniqueId(32, CryptoRandom.OutputFormat.Base64Url);

    public static string CodeChallenge(string verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
    }

    public async Task<SmartTokens> ExchangeCodeAsync(SmartEhrRegistration ehr, string tokenEndpoint, string code, string redirectUri, string codeVerifier, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        var request = new AuthorizationCodeTokenRequest
        {
            Address = tokenEndpoint,
            Code = code,
            RedirectUri = redirectUri,
            CodeVerifier = codeVerifier,
        };
        Authenticate(request, ehr, tokenEndpoint);
        var response = await httpClients.CreateClient(HttpClientName).RequestAuthorizationCodeTokenAsync(request, cancellationToken);
        return Read(response, ehr, "code");
    }

    public async Task<SmartTokens> RefreshAsync(SmartEhrRegistration ehr, string tokenEndpoint, string refreshToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        var request = new RefreshTokenRequest { Address = tokenEndpoint, RefreshToken = refreshToken };
        Authenticate(request, ehr, tokenEndpoint);
        var response = await httpClients.CreateClient(HttpClientName).RequestRefreshTokenAsync(request, cancellationToken);
        return Read(response, ehr, "refresh");
    }

    private SmartTokens Read(TokenResponse response, SmartEhrRegistration ehr, string grant)
    {
        if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
        {
            // The OAuth error code (invalid_grant, invalid_client) is safe to log and show; the description may echo input.
            var error = SafeCode(response.Error);
            LogTokenRefused(logger, ehr.Name, grant, error, (int)response.HttpStatusCode);
            throw new SmartProblemException(SmartProblemKind.TokenRefused,
                $"The EHR's authorization server refused to issue an access token (error: {error}).");
        }

        var appContext = response.TryGet("appContext");
        return new SmartTokens(response.AccessToken, response.RefreshToken, response.ExpiresIn, response.Scope, response.TryGet("patient"), appContext);
    }

    private void Authenticate(ProtocolRequest request, SmartEhrRegistration ehr, string tokenEndpoint)
    {
        request.ClientId = ehr.ClientId;
        switch (ehr.ClientAuthentication)
        {
            case SmartClientAuthentication.ClientSecretBasic:
                request.ClientSecret = ehr.ClientSecret;
                request.ClientCredentialStyle = ClientCredentialStyle.AuthorizationHeader;
                break;
            case SmartClientAuthentication.PrivateKeyJwt:
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                request.ClientAssertion = new ClientAssertion
                {
                    Type = OidcConstants.ClientAssertionTypes.JwtBearer,
                    Value = CreateAssertion(ehr, tokenEndpoint),
                };
                break;
            default:
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
        }
    }

    /// <summary>
    /// The client assertion of SMART App Launch 2.0 "Confidential asymmetric" (RFC 7523): iss = sub = client_id, aud = the
    /// token endpoint, a unique jti, exp at most five minutes ahead, signed ES384 or RS384 with the registered key.
    /// </summary>
    internal string CreateAssertion(SmartEhrRegistration ehr, string tokenEndpoint)
    {
        var credentials = _signingKeys.GetOrAdd(ehr.Name, _ => LoadSigningCredentials(ehr));
        var now = time.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = ehr.ClientId,
            Audience = tokenEndpoint,
            Subject = new ClaimsIdentity([
                new Claim(JwtRegisteredClaimNames.Sub, ehr.ClientId),
                new Claim(JwtRegisteredClaimNames.Jti, CryptoRandom.CreateUniqueId(24, CryptoRandom.OutputFormat.Base64Url)),
            ]),
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(4),
            SigningCredentials = credentials,
        });
    }

    internal static SigningCredentials LoadSigningCredentials(SmartEhrRegistration ehr)
    {
        if (string.IsNullOrWhiteSpace(ehr.PrivateKeyPem))
        {
            throw new InvalidOperationException($"SMART EHR '{ehr.Name}' uses private_key_jwt but has no PrivateKeyPem.");
        }

        SecurityKey key;
        string algorithm;
        if (string.Equals(ehr.SigningAlgorithm, "RS384", StringComparison.Ordinal))
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(ehr.PrivateKeyPem);
            key = new RsaSecurityKey(rsa) { KeyId = ehr.KeyId };
            algorithm = SecurityAlgorithms.RsaSha384;
        }
        else
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(ehr.PrivateKeyPem);
            key = new ECDsaSecurityKey(ecdsa) { KeyId = ehr.KeyId };
            algorithm = SecurityAlgorithms.EcdsaSha384;
        }

        return new SigningCredentials(key, algorithm);
    }

    private static bool IsUsableEndpoint(string? endpoint, bool allowLoopback) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var url)
        && string.IsNullOrEmpty(url.UserInfo) && string.IsNullOrEmpty(url.Fragment)
        && (url.Scheme == Uri.UriSchemeHttps || (allowLoopback && url.Scheme == Uri.UriSchemeHttp && url.IsLoopback));

    /// <summary>An OAuth error code as sent (RFC 6749 5.2: a short ASCII token); anything else becomes "unknown".</summary>
    private static string SafeCode(string? error) =>
        error is { Length: > 0 and <= 64 } && ErrorCode().IsMatch(error) ? error : "unknown";

    [GeneratedRegex("^[a-z0-9_.-]+$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ErrorCode();

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "SMART discovery failed: ehr={Ehr} reason={Reason}")]
    private static partial void LogDiscoveryFailed(ILogger logger, string ehr, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "SMART token request refused: ehr={Ehr} grant={Grant} error={Error} status={Status}")]
    private static partial void LogTokenRefused(ILogger logger, string ehr, string grant, string error, int status);
}
