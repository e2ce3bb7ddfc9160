using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// Drives the authorization-code flow against the test authorization server over HTTP (no browser): the login and
/// consent steps are automatic there, so following redirects ends at the client's redirect URI with a code. Used by
/// the infrastructure smoke tests to prove the servers; the app's own tests go through the app in Chromium.
/// </summary>
public sealed class SmartAuthorizationDriver : IDisposable
{
    private readonly SmartServersFixture _servers;
    private readonly HttpClient _http;

    public SmartAuthorizationDriver(SmartServersFixture servers)
    {
        _servers = servers;
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true })
        {
            Timeout = TimeSpan.FromSeconds(15),
        };
    }

    public static string NewCodeVerifier() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string S256(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>GET /auth and follow the redirects. Ends at the redirect URI (code or error) or on a page of the server.</summary>
    public async Task<AuthorizationResult> AuthorizeAsync(AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = request.ClientId,
            ["redirect_uri"] = request.RedirectUri,
            ["scope"] = request.Scope,
            ["state"] = request.State,
            ["aud"] = request.Audience ?? _servers.FhirBaseUrl,
            ["launch"] = request.Launch,
            ["code_challenge"] = S256(request.CodeVerifier),
            ["code_challenge_method"] = "S256",
        };
        var url = _servers.AuthorizeEndpoint + "?" + string.Join('&', query.Where(kv => kv.Value is not null)
            .Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value!)}"));
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = await _http.GetAsync(new Uri(url));
            var location = response.Headers.Location;
            if (location is null)
            {
                return new AuthorizationResult(null, null, null, null, (int)response.StatusCode, await response.Content.ReadAsStringAsync());
            }

            var next = location.IsAbsoluteUri ? location : new Uri(new Uri(url), location);
            if (next.GetLeftPart(UriPartial.Path) == request.RedirectUri)
            {
                var q = ParseQuery(next.Query);
                return new AuthorizationResult(q.GetValueOrDefault("code"), q.GetValueOrDefault("state"), q.GetValueOrDefault("error"),
                    q.GetValueOrDefault("error_description"), (int)response.StatusCode, null);
            }

            url = next.AbsoluteUri;
        }

        throw new InvalidOperationException("Too many redirects from the authorization server.");
    }

    public Task<TokenResult> ExchangeCodeAsync(string code, string redirectUri, string clientId, string codeVerifier, ClientAuthentication? auth = null) =>
        TokenAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
            ["code_verifier"] = codeVerifier,
        }, clientId, auth ?? ClientAuthentication.None);

    public Task<TokenResult> RefreshAsync(string refreshToken, string clientId, ClientAuthentication? auth = null) =>
        TokenAsync(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken }, clientId, auth ?? ClientAuthentication.None);

    /// <summary>The whole flow for a registered client: authorize, then exchange the code. Throws if no code comes back.</summary>
    public async Task<TokenResult> GetTokenAsync(AuthorizationRequest request, ClientAuthentication? auth = null)
    {
        var result = await AuthorizeAsync(request);
        if (result.Code is null)
        {
            throw new InvalidOperationException($"No authorization code: {result.Error} {result.ErrorDescription} (HTTP {result.Status}) {result.Page}");
        }

        return await ExchangeCodeAsync(result.Code, request.RedirectUri, request.ClientId, request.CodeVerifier, auth);
    }

    public void Dispose() => _http.Dispose();

    private async Task<TokenResult> TokenAsync(Dictionary<string, string> form, string clientId, ClientAuthentication auth)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, _servers.TokenEndpoint);
        switch (auth)
        {
            case { Secret: { } secret }:
                // RFC 6749 2.3.1: form-urlencode id and secret before base64.
                message.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                    $"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
                break;
            case { Key: { } key }:
                form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
                form["client_assertion"] = key.CreateClientAssertion(clientId, _servers.TokenEndpoint);
                break;
            default:
                form["client_id"] = clientId;
                break;
        }

        message.Content = new FormUrlEncodedContent(form);
        using var response = await _http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        return new TokenResult(response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static Dictionary<string, string> ParseQuery(string query)
    {
        var result = new Dictionary<string, string>();
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var i = part.IndexOf('=', StringComparison.Ordinal);
            var k = Uri.UnescapeDataString((i < 0 ? part : part[..i]).Replace('+', ' '));
            var v = i < 0 ? "" : Uri.UnescapeDataString(part[(i + 1)..].Replace('+', ' '));
            result[k] = v;
        }

        return result;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public sealed record AuthorizationRequest(
    string ClientId, string RedirectUri, string Scope, string CodeVerifier, string? Launch = null, string State = "test-state", string? Audience = null);

/// <summary>Where the authorization ended: a code (or error) at the redirect URI, or a server page (picker, error).</summary>
public sealed record AuthorizationResult(string? Code, string? State, string? Error, string? ErrorDescription, int Status, string? Page);

public sealed record ClientAuthentication(string? Secret = null, SmartClientKey? Key = null)
{
    public static ClientAuthentication None { get; } = new();

    public static ClientAuthentication Basic(string secret) => new(Secret: secret);

    public static ClientAuthentication PrivateKeyJwt(SmartClientKey key) => new(Key: key);
}

public sealed record TokenResult(HttpStatusCode Status, JsonElement Body)
{
    public string? AccessToken => Get("access_token");

    public string? RefreshToken => Get("refresh_token");

    public string? IdToken => Get("id_token");

    public string? Patient => Get("patient");

    public string? Scope => Get("scope");

    public string? Error => Get("error");

    public IReadOnlySet<string> Scopes => (Scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    private string? Get(string name) => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
