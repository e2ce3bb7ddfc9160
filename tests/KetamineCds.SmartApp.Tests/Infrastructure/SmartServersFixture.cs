using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// The EHR side of a SMART launch, started once per test run (collection fixture): the test authorization server
/// (tests/servers/auth, oidc-provider) and the test FHIR server (tests/servers/fhir, Medplum in-memory repository loaded
/// with tests/servers/seed/table2.ndjson), each on a free loopback port, each verified by the other (the FHIR server
/// checks the JWT access tokens against the authorization server's JWKS; the authorization server checks aud = FHIR base).
/// Test controls (launch contexts, client registrations, token lifetime, FHIR outage) go through /_test/ endpoints
/// guarded by a random secret. See tests/servers/README.md.
/// </summary>
public sealed class SmartServersFixture : IAsyncLifetime
{
    private NodeServerProcess? _auth;
    private NodeServerProcess? _fhir;
    private HttpClient? _admin;

    /// <summary>The random secret of this run's /_test/ controls (header X-Test-Admin-Secret).</summary>
    public string AdminSecret { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    /// <summary>FHIR base URL, e.g. http://127.0.0.1:43121/fhir (no trailing slash). The `iss` and `aud` of a launch.</summary>
    public string FhirBaseUrl { get; private set; } = "";

    /// <summary>Authorization server issuer, e.g. http://127.0.0.1:39011.</summary>
    public string AuthorizationServerIssuer { get; private set; } = "";

    public string AuthorizeEndpoint => AuthorizationServerIssuer + "/auth";

    public string TokenEndpoint => AuthorizationServerIssuer + "/token";

    public string JwksUri => AuthorizationServerIssuer + "/jwks";

    /// <summary>Where the servers' output goes (auth.log, fhir.log): read these when a SMART test fails.</summary>
    public string LogDirectory { get; } = Path.Combine(Path.GetTempPath(), $"ketaminecds-smart-servers-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        var env = new Dictionary<string, string> { ["TEST_ADMIN_SECRET"] = AdminSecret };
        _auth = await NodeServerProcess.StartAsync(
            Path.Combine(RepositoryPaths.Servers, "auth"), "AUTH_SERVER_READY", ["--port", "0", RepositoryPaths.SeedFile], env,
            Path.Combine(LogDirectory, "auth.log"));
        AuthorizationServerIssuer = _auth.Ready.GetProperty("issuer").GetString()!;
        _fhir = await NodeServerProcess.StartAsync(
            Path.Combine(RepositoryPaths.Servers, "fhir"), "FHIR_SERVER_READY",
            ["--port", "0", "--auth-issuer", AuthorizationServerIssuer, RepositoryPaths.SeedFile], env,
            Path.Combine(LogDirectory, "fhir.log"));
        FhirBaseUrl = _fhir.Ready.GetProperty("base").GetString()!;
        _admin = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        _admin.DefaultRequestHeaders.Add("X-Test-Admin-Secret", AdminSecret);
        // The authorization server learns the FHIR base (its only resource server and the required aud) now that it exists.
        await ResetAsync();
    }

    public async Task DisposeAsync()
    {
        _admin?.Dispose();
        if (_fhir is not null)
        {
            await _fhir.DisposeAsync();
        }

        if (_auth is not null)
        {
            await _auth.DisposeAsync();
        }
    }

    /// <summary>Back to the defaults: 300 s access tokens, no default patient (standalone shows the picker), SMART v1+v2,
    /// FHIR server up. Call it in tests that change any of these (in a finally).</summary>
    public async Task ResetAsync()
    {
        await AuthConfigAsync(new JsonObject
        {
            ["fhirBase"] = FhirBaseUrl,
            ["accessTokenTtlSeconds"] = 300,
            ["defaultPatient"] = null,
            ["v1Only"] = false,
        });
        await SetFhirServerFailingAsync(false);
        await PostAsync(FhirAdmin("/_test/smart"), new JsonObject { ["v1Only"] = false });
    }

    /// <summary>Registers an EHR launch context and returns the `launch` value to pass to the app with `iss` = FhirBaseUrl.
    /// A launch with <see cref="EhrLaunch.Patient"/> null yields a token without patient context.</summary>
    public async Task<string> CreateLaunchAsync(EhrLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var body = new JsonObject
        {
            ["patient"] = launch.Patient,
            ["encounter"] = launch.Encounter,
            ["appContext"] = launch.AppContext,
            ["needPatientBanner"] = launch.NeedPatientBanner,
            ["accessTokenTtlSeconds"] = launch.AccessTokenLifetimeSeconds,
        };
        var result = await PostAsync(AuthAdmin("/_test/launch"), body);
        return result.GetProperty("launch").GetString()!;
    }

    /// <summary>Registers (or replaces) a client: its redirect URIs, its scopes (only these are ever granted) and its
    /// authentication (none, client_secret_basic, private_key_jwt with the JWKS the test supplies).</summary>
    public async Task RegisterClientAsync(SmartClientRegistration client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = new JsonObject
        {
            ["client_id"] = client.ClientId,
            ["redirect_uris"] = new JsonArray(client.RedirectUris.Select(u => (JsonNode?)JsonValue.Create(u)).ToArray()),
            ["scope"] = client.Scope,
            ["token_endpoint_auth_method"] = client.AuthenticationMethod,
        };
        if (client.ClientSecret is not null)
        {
            body["client_secret"] = client.ClientSecret;
        }

        if (client.PublicJwksJson is not null)
        {
            body["jwks"] = JsonNode.Parse(client.PublicJwksJson);
        }

        if (client.SigningAlgorithm is not null)
        {
            body["token_endpoint_auth_signing_alg"] = client.SigningAlgorithm;
        }

        await PostAsync(AuthAdmin("/_test/clients"), body);
    }

    /// <summary>Lifetime of access tokens issued from now on (launches may override it per launch).</summary>
    public Task SetAccessTokenLifetimeAsync(int seconds) => AuthConfigAsync(new JsonObject { ["accessTokenTtlSeconds"] = seconds });

    /// <summary>Standalone launch (`launch/patient`): with a default patient the picker is skipped and that patient chosen.</summary>
    public Task SetDefaultPatientAsync(string? patientId) => AuthConfigAsync(new JsonObject { ["defaultPatient"] = patientId });

    /// <summary>Makes the EHR a SMART v1-only one: discovery advertises only v1 scopes (no permission-v2) and the
    /// authorization server grants only v1 scopes (patient/*.read, patient/Observation.read, ...).</summary>
    public async Task SetSmartV1OnlyAsync(bool v1Only)
    {
        await AuthConfigAsync(new JsonObject { ["v1Only"] = v1Only });
        await PostAsync(FhirAdmin("/_test/smart"), new JsonObject { ["v1Only"] = v1Only });
    }

    /// <summary>While failing, the FHIR server answers 503 to everything (discovery and /metadata included).</summary>
    public Task SetFhirServerFailingAsync(bool failing) => PostAsync(FhirAdmin("/_test/fail"), new JsonObject { ["fail"] = failing });

    private Task AuthConfigAsync(JsonObject body) => PostAsync(AuthAdmin("/_test/config"), body);

    private string AuthAdmin(string path) => AuthorizationServerIssuer + path;

    private string FhirAdmin(string path) => FhirBaseUrl[..FhirBaseUrl.LastIndexOf("/fhir", StringComparison.Ordinal)] + path;

    private async Task<JsonElement> PostAsync(string url, JsonObject body)
    {
        var admin = _admin ?? throw new InvalidOperationException("The SMART servers are not started.");
        using var response = await admin.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Test control {url} answered {(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }
}

/// <summary>An EHR launch context. <paramref name="AppContext"/> is passed through to the token response as `appContext`.</summary>
public sealed record EhrLaunch(
    string? Patient,
    string? AppContext = null,
    bool NeedPatientBanner = true,
    int? AccessTokenLifetimeSeconds = null,
    string? Encounter = null);

/// <summary>A client registration at the test authorization server.</summary>
/// <param name="AuthenticationMethod">"none" (public), "client_secret_basic" or "private_key_jwt".</param>
/// <param name="Scope">Space-separated scopes the client may be granted (requests beyond these are not granted).</param>
public sealed record SmartClientRegistration(
    string ClientId,
    IReadOnlyList<string> RedirectUris,
    string Scope,
    string AuthenticationMethod = "none",
    string? ClientSecret = null,
    string? PublicJwksJson = null,
    string? SigningAlgorithm = null);

/// <summary>The collection every SMART test joins: one pair of servers and one Chromium for the whole run.</summary>
[CollectionDefinition(Name)]
public sealed class SmartEnvironmentCollection : ICollectionFixture<SmartServersFixture>, ICollectionFixture<ChromiumFixture>
{
    public const string Name = "SMART environment";
}
