using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Deque.AxeCore.Playwright;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// Proves the SMART test environment is real before the app's tests lean on it: the FHIR server searches, pages and
/// enforces the token's patient; the authorization server runs code + PKCE S256, binds launch and aud, grants only
/// registered scopes, authenticates public, secret and private_key_jwt clients; Chromium opens a loopback page.
/// </summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class InfrastructureSmokeTests(SmartServersFixture servers, ChromiumFixture chromium) : IAsyncLifetime
{
    private const string RedirectUri = "http://127.0.0.1:9/smoke-callback";
    private readonly string _clientId = "smoke-" + Guid.NewGuid().ToString("N")[..8];
    private readonly SmartAuthorizationDriver _driver = new(servers);

    public async Task InitializeAsync()
    {
        await servers.ResetAsync();
        await servers.RegisterClientAsync(new SmartClientRegistration(_clientId, [RedirectUri], SmartTestData.AppScopesV2 + " patient/*.read"));
    }

    public async Task DisposeAsync()
    {
        _driver.Dispose();
        await servers.ResetAsync();
    }

    private Task<TokenResult> TokenForAsync(string? patient, string scope = "launch openid fhirUser patient/Patient.rs patient/Observation.rs patient/MedicationStatement.rs", int? ttl = null)
        => LaunchAsync(patient, scope, ttl);

    private async Task<TokenResult> LaunchAsync(string? patient, string scope, int? ttl = null, string? appContext = null)
    {
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(patient, appContext, AccessTokenLifetimeSeconds: ttl));
        var token = await _driver.GetTokenAsync(new AuthorizationRequest(_clientId, RedirectUri, scope, SmartAuthorizationDriver.NewCodeVerifier(), launch));
        Assert.Equal(HttpStatusCode.OK, token.Status);
        return token;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> FhirGetAsync(string url, string? accessToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url.StartsWith("http", StringComparison.Ordinal) ? url : servers.FhirBaseUrl + url);
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && text[0] == '{' ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Fact]
    public async Task Ehr_launch_token_carries_the_launched_patient_banner_flag_app_context_and_an_id_token_with_fhirUser()
    {
        var token = await LaunchAsync(SmartTestData.Patient01, "launch openid fhirUser offline_access patient/Observation.rs", appContext: "{\"finding\":\"lamotrigine-concurrent\"}");

        Assert.Equal(SmartTestData.Patient01, token.Patient);
        Assert.True(token.Body.GetProperty("need_patient_banner").GetBoolean());
        Assert.Equal("{\"finding\":\"lamotrigine-concurrent\"}", token.Body.GetProperty("appContext").GetString());
        Assert.Equal("Bearer", token.Body.GetProperty("token_type").GetString());
        Assert.Superset(new HashSet<string> { "launch", "openid", "fhirUser", "offline_access", "patient/Observation.rs" }, token.Scopes.ToHashSet());
        var idToken = DecodePayload(token.IdToken!);
        Assert.Equal($"{servers.FhirBaseUrl}/Practitioner/{SmartTestData.PractitionerId}", idToken.GetProperty("fhirUser").GetString());
        Assert.Equal(_clientId, idToken.GetProperty("aud").GetString());
        var access = DecodePayload(token.AccessToken!);
        Assert.Equal(servers.FhirBaseUrl, access.GetProperty("aud").GetString());
        Assert.Equal(SmartTestData.Patient01, access.GetProperty("patient").GetString());

        // offline_access brings a refresh token; refreshing keeps the patient context.
        Assert.NotNull(token.RefreshToken);
        var refreshed = await _driver.RefreshAsync(token.RefreshToken!, _clientId);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        Assert.Equal(SmartTestData.Patient01, refreshed.Patient);
        Assert.NotEqual(token.AccessToken, refreshed.AccessToken);
    }

    [Fact]
    public async Task Fhir_search_pages_through_the_launched_patients_observations_and_nothing_else()
    {
        var token = await TokenForAsync(SmartTestData.Patient01);

        var ids = new List<string>();
        string? next = $"/Observation?subject=Patient/{SmartTestData.Patient01}&_count=5&_sort=date";
        var pages = 0;
        while (next is not null)
        {
            var (status, bundle) = await FhirGetAsync(next, token.AccessToken);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(13, bundle.GetProperty("total").GetInt32()); // baseline + 6 CADSS + 6 QIDS-SR16
            foreach (var entry in bundle.GetProperty("entry").EnumerateArray())
            {
                var resource = entry.GetProperty("resource");
                Assert.Equal($"Patient/{SmartTestData.Patient01}", resource.GetProperty("subject").GetProperty("reference").GetString());
                Assert.Equal($"{servers.FhirBaseUrl}/Observation/{resource.GetProperty("id").GetString()}", entry.GetProperty("fullUrl").GetString());
                ids.Add(resource.GetProperty("id").GetString()!);
            }

            next = bundle.GetProperty("link").EnumerateArray().Where(l => l.GetProperty("relation").GetString() == "next")
                .Select(l => l.GetProperty("url").GetString()).FirstOrDefault();
            pages++;
        }

        Assert.Equal(3, pages);
        Assert.Equal(13, ids.Distinct().Count());
        Assert.Contains("obs-01-qids-tx6", ids);

        // A search without a patient is narrowed to the token's patient; another patient's data is refused.
        var (_, unnamed) = await FhirGetAsync("/MedicationStatement", token.AccessToken);
        Assert.All(unnamed.GetProperty("entry").EnumerateArray(), e =>
            Assert.Equal($"Patient/{SmartTestData.Patient01}", e.GetProperty("resource").GetProperty("subject").GetProperty("reference").GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await FhirGetAsync($"/Observation?subject=Patient/{SmartTestData.Patient10}", token.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await FhirGetAsync($"/Patient/{SmartTestData.Patient10}", token.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await FhirGetAsync("/Observation/obs-10-qids-tx1", token.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await FhirGetAsync($"/Patient/{SmartTestData.Patient01}", token.AccessToken)).Status);
        // Not granted: MedicationRequest was not in the scope asked for.
        Assert.Equal(HttpStatusCode.Forbidden, (await FhirGetAsync("/MedicationRequest", token.AccessToken)).Status);
    }

    [Fact]
    public async Task Fhir_server_refuses_reads_without_a_token_with_a_forged_token_and_with_an_expired_one()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await FhirGetAsync($"/Patient/{SmartTestData.Patient01}", null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await FhirGetAsync($"/Patient/{SmartTestData.Patient01}", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")).Status);

        var shortLived = await TokenForAsync(SmartTestData.Patient01, ttl: 1);
        Assert.Equal(1, shortLived.Body.GetProperty("expires_in").GetInt32());
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        var (status, _) = await FhirGetAsync($"/Patient/{SmartTestData.Patient01}", shortLived.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        // Discovery and the CapabilityStatement are public, as SMART requires.
        var (smartStatus, smart) = await FhirGetAsync("/.well-known/smart-configuration", null);
        Assert.Equal(HttpStatusCode.OK, smartStatus);
        Assert.Equal(servers.AuthorizeEndpoint, smart.GetProperty("authorization_endpoint").GetString());
        Assert.Contains("permission-v2", smart.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await FhirGetAsync("/metadata", null)).Status);
    }

    [Fact]
    public async Task A_launch_without_patient_context_gives_a_token_without_patient_that_reads_nothing()
    {
        var token = await TokenForAsync(patient: null);

        Assert.Null(token.Patient);
        Assert.Equal(HttpStatusCode.Forbidden, (await FhirGetAsync($"/Observation?subject=Patient/{SmartTestData.Patient01}", token.AccessToken)).Status);
    }

    [Fact]
    public async Task Pkce_verifier_mismatch_is_refused_and_a_code_cannot_be_replayed()
    {
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient01));
        var verifier = SmartAuthorizationDriver.NewCodeVerifier();
        var request = new AuthorizationRequest(_clientId, RedirectUri, "launch patient/Patient.rs", verifier, launch);
        var authorized = await _driver.AuthorizeAsync(request);
        Assert.NotNull(authorized.Code);
        Assert.Equal("test-state", authorized.State);

        var wrong = await _driver.ExchangeCodeAsync(authorized.Code!, RedirectUri, _clientId, SmartAuthorizationDriver.NewCodeVerifier());
        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
        Assert.Equal("invalid_grant", wrong.Error);
        Assert.Null(wrong.AccessToken);

        // oidc-provider checks the verifier before spending the code: the right verifier still redeems it, once.
        var right = await _driver.ExchangeCodeAsync(authorized.Code!, RedirectUri, _clientId, verifier);
        Assert.Equal(HttpStatusCode.OK, right.Status);
        var replay = await _driver.ExchangeCodeAsync(authorized.Code!, RedirectUri, _clientId, verifier);
        Assert.Equal("invalid_grant", replay.Error);
    }

    [Fact]
    public async Task Scopes_beyond_the_registration_and_unknown_scopes_are_not_granted()
    {
        await servers.RegisterClientAsync(new SmartClientRegistration(_clientId, [RedirectUri], "launch openid patient/Observation.rs"));

        var token = await TokenForAsync(SmartTestData.Patient01, "launch openid patient/Observation.rs patient/MedicationRequest.rs patient/Secret.rs user/*.cruds");

        Assert.Equal(new HashSet<string> { "launch", "openid", "patient/Observation.rs" }, token.Scopes.ToHashSet());
        var access = DecodePayload(token.AccessToken!);
        Assert.Equal("patient/Observation.rs", access.GetProperty("scope").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await FhirGetAsync("/MedicationRequest", token.AccessToken)).Status);
    }

    [Fact]
    public async Task Authorize_requests_with_a_foreign_aud_or_an_unknown_launch_are_refused()
    {
        var verifier = SmartAuthorizationDriver.NewCodeVerifier();
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient01));

        var foreignAud = await _driver.AuthorizeAsync(new AuthorizationRequest(_clientId, RedirectUri, "launch patient/Patient.rs", verifier, launch, Audience: "http://127.0.0.1:1/fhir"));
        Assert.Null(foreignAud.Code);
        Assert.Contains(foreignAud.Error, new[] { "invalid_target", "invalid_request" }); // oidc-provider's resource check comes first

        var unknownLaunch = await _driver.AuthorizeAsync(new AuthorizationRequest(_clientId, RedirectUri, "launch patient/Patient.rs", verifier, "no-such-launch"));
        Assert.Null(unknownLaunch.Code);
        Assert.Equal("invalid_request", unknownLaunch.Error);
    }

    [Theory]
    [InlineData(SecurityAlgorithms.EcdsaSha384)]
    [InlineData(SecurityAlgorithms.RsaSha384)]
    public async Task Asymmetric_client_authenticates_with_private_key_jwt_and_a_foreign_key_is_refused(string algorithm)
    {
        using var key = SmartClientKey.Create(algorithm);
        using var otherKey = SmartClientKey.Create(algorithm);
        var clientId = $"{_clientId}-{algorithm}";
        await servers.RegisterClientAsync(new SmartClientRegistration(clientId, [RedirectUri], SmartTestData.AppScopesV2, "private_key_jwt",
            PublicJwksJson: key.PublicJwksJson, SigningAlgorithm: algorithm));
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient13));

        var verifier = SmartAuthorizationDriver.NewCodeVerifier();
        var authorized = await _driver.AuthorizeAsync(new AuthorizationRequest(clientId, RedirectUri, "launch patient/Observation.rs", verifier, launch));
        var refused = await _driver.ExchangeCodeAsync(authorized.Code!, RedirectUri, clientId, verifier, ClientAuthentication.PrivateKeyJwt(otherKey));
        Assert.Equal("invalid_client", refused.Error);

        var token = await _driver.GetTokenAsync(new AuthorizationRequest(clientId, RedirectUri, "launch patient/Observation.rs", verifier, launch),
            ClientAuthentication.PrivateKeyJwt(key));
        Assert.Equal(HttpStatusCode.OK, token.Status);
        Assert.Equal(SmartTestData.Patient13, token.Patient);
    }

    [Fact]
    public async Task Confidential_client_authenticates_with_client_secret_basic_and_a_wrong_secret_is_refused()
    {
        var clientId = $"{_clientId}-secret";
        await servers.RegisterClientAsync(new SmartClientRegistration(clientId, [RedirectUri], SmartTestData.AppScopesV2, "client_secret_basic", ClientSecret: "s3cret-for-smoke"));
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient10));
        var verifier = SmartAuthorizationDriver.NewCodeVerifier();

        var authorized = await _driver.AuthorizeAsync(new AuthorizationRequest(clientId, RedirectUri, "launch patient/Observation.rs", verifier, launch));
        Assert.Equal("invalid_client", (await _driver.ExchangeCodeAsync(authorized.Code!, RedirectUri, clientId, verifier, ClientAuthentication.Basic("wrong"))).Error);

        var token = await _driver.GetTokenAsync(new AuthorizationRequest(clientId, RedirectUri, "launch patient/Observation.rs", verifier, launch), ClientAuthentication.Basic("s3cret-for-smoke"));
        Assert.Equal(SmartTestData.Patient10, token.Patient);
    }

    [Fact]
    public async Task Smart_v1_scopes_are_granted_and_honoured_and_the_v1_only_switch_changes_discovery()
    {
        var token = await TokenForAsync(SmartTestData.Patient10, "launch patient/*.read");
        Assert.Contains("patient/*.read", token.Scopes);
        Assert.Equal(HttpStatusCode.OK, (await FhirGetAsync("/MedicationStatement", token.AccessToken)).Status);

        await servers.SetSmartV1OnlyAsync(true);
        var (_, smart) = await FhirGetAsync("/.well-known/smart-configuration", null);
        var scopes = smart.GetProperty("scopes_supported").EnumerateArray().Select(s => s.GetString()!).ToList();
        Assert.DoesNotContain(scopes, s => s.EndsWith(".rs", StringComparison.Ordinal));
        Assert.DoesNotContain("permission-v2", smart.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        var v2Asked = await TokenForAsync(SmartTestData.Patient10, "launch patient/Observation.rs patient/*.read");
        Assert.DoesNotContain("patient/Observation.rs", v2Asked.Scopes);
        Assert.Contains("patient/*.read", v2Asked.Scopes);
    }

    [Fact]
    public async Task Fhir_server_outage_switch_answers_503_until_switched_back()
    {
        var token = await TokenForAsync(SmartTestData.Patient01);
        await servers.SetFhirServerFailingAsync(true);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await FhirGetAsync($"/Patient/{SmartTestData.Patient01}", token.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await FhirGetAsync("/.well-known/smart-configuration", null)).Status);
        await servers.SetFhirServerFailingAsync(false);
        Assert.Equal(HttpStatusCode.OK, (await FhirGetAsync($"/Patient/{SmartTestData.Patient01}", token.AccessToken)).Status);
    }

    [Fact]
    public async Task Post_search_with_a_form_body_works_like_get()
    {
        var token = await TokenForAsync(SmartTestData.Patient13);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, servers.FhirBaseUrl + "/Observation/_search")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["subject"] = $"Patient/{SmartTestData.Patient13}",
                ["code"] = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment|qids-sr16-total",
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(7, bundle.GetProperty("total").GetInt32()); // baseline + 6 follow-ups
    }

    [Fact]
    public async Task Standalone_launch_shows_a_patient_picker_in_chromium_and_the_click_reaches_the_redirect_uri_with_a_code()
    {
        await using var page = await LoopbackPage.StartAsync();
        var clientId = $"{_clientId}-standalone";
        await servers.RegisterClientAsync(new SmartClientRegistration(clientId, [page.CallbackUrl], SmartTestData.AppScopesV2));
        var verifier = SmartAuthorizationDriver.NewCodeVerifier();
        var authorize = $"{servers.AuthorizeEndpoint}?response_type=code&client_id={clientId}&redirect_uri={Uri.EscapeDataString(page.CallbackUrl)}"
            + $"&scope={Uri.EscapeDataString("launch/patient openid fhirUser patient/Observation.rs")}&state=st-1&aud={Uri.EscapeDataString(servers.FhirBaseUrl)}"
            + $"&code_challenge={SmartAuthorizationDriver.S256(verifier)}&code_challenge_method=S256";

        await using var context = await chromium.NewContextAsync();
        var tab = await context.NewPageAsync();
        await tab.GotoAsync(page.BaseUrl + "/");
        Assert.Equal("Loopback page", await tab.TextContentAsync("h1"));
        var axe = await tab.RunAxe(); // Deque.AxeCore.Playwright runs in Debian's Chromium
        Assert.True(axe.Passes.Length > 0);
        Assert.DoesNotContain(axe.Violations, v => v.Impact is "serious" or "critical");

        await tab.GotoAsync(authorize);
        Assert.Equal("Select a patient", await tab.TextContentAsync("h1"));
        Assert.DoesNotContain((await tab.RunAxe()).Violations, v => v.Impact is "serious" or "critical");
        await tab.ClickAsync($"button[data-patient-id='{SmartTestData.Patient10}']");
        await tab.WaitForURLAsync(url => url.StartsWith(page.CallbackUrl, StringComparison.Ordinal));
        var code = await tab.TextContentAsync("#code");
        Assert.Equal("st-1", await tab.TextContentAsync("#state"));

        var token = await _driver.ExchangeCodeAsync(code!, page.CallbackUrl, clientId, verifier);
        Assert.Equal(SmartTestData.Patient10, token.Patient);
    }

    [Fact]
    public async Task Standalone_launch_with_a_default_patient_skips_the_picker_and_online_access_brings_a_refresh_token()
    {
        await servers.SetDefaultPatientAsync(SmartTestData.PatientWithoutKetamine);

        var token = await _driver.GetTokenAsync(new AuthorizationRequest(_clientId, RedirectUri, "launch/patient openid fhirUser online_access patient/Patient.rs",
            SmartAuthorizationDriver.NewCodeVerifier()));

        Assert.Equal(SmartTestData.PatientWithoutKetamine, token.Patient);
        Assert.Contains("online_access", token.Scopes);
        Assert.NotNull(token.RefreshToken);
        var (status, patient) = await FhirGetAsync($"/Patient/{token.Patient}", token.AccessToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Thornbury", patient.GetProperty("name")[0].GetProperty("family").GetString());

        // Scope launch (EHR launch) without a launch parameter is refused.
        var noLaunch = await _driver.AuthorizeAsync(new AuthorizationRequest(_clientId, RedirectUri, "launch patient/Patient.rs", SmartAuthorizationDriver.NewCodeVerifier()));
        Assert.Equal("invalid_request", noLaunch.Error);
    }

    private static JsonElement DecodePayload(string jwt)
    {
        var payload = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        return JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload))).RootElement.Clone();
    }
}
