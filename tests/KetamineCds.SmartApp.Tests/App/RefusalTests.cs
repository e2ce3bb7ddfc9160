using System.Net;
using System.Net.Sockets;
using KetamineCds.SmartApp.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>
/// Every way a launch can go wrong ends on a plain page that says what happened and what to do, with the right status,
/// no stack trace and no token: an unregistered iss (never contacted), a wrong, foreign or replayed state, a PKCE
/// verifier the authorization server refuses, a token without patient context, an expired session, a FHIR server that
/// fails, a patient without ketamine.
/// </summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class RefusalTests(SmartServersFixture servers, ChromiumFixture chromium) : IAsyncLifetime
{
    private SmartAppHost _app = null!;

    public async Task InitializeAsync()
    {
        await servers.ResetAsync();
        _app = await SmartAppHost.SharedAsync(servers);
    }

    public Task DisposeAsync() => servers.ResetAsync();

    private string LaunchUrl(string launch, string? iss = null) =>
        $"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(iss ?? servers.FhirBaseUrl)}&launch={Uri.EscapeDataString(launch)}";

    [Fact]
    public async Task An_unregistered_iss_is_refused_with_a_plain_page_and_is_never_contacted_or_redirected_to()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        foreach (var iss in new[] { $"http://127.0.0.1:{port}/fhir", "https://evil.example/fhir", servers.FhirBaseUrl + "/../other", "javascript:alert(1)", "" })
        {
            var response = await page.GotoAsync(LaunchUrl("any", iss));
            Assert.Equal(400, response!.Status);
            Assert.Equal("unknown-iss", await AppPage.ProblemAsync(page));
            Assert.StartsWith(_app.BaseUrl + "/app/launch", page.Url, StringComparison.Ordinal);
            var text = await page.Locator("main").InnerTextAsync();
            Assert.Contains("What to do", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        }

        Assert.False(listener.Pending(), "The app connected to an unregistered iss.");
    }

    [Fact]
    public async Task A_state_that_is_wrong_replayed_or_from_another_browser_is_refused()
    {
        // Wrong: a callback with a state the app never issued.
        await using var first = await chromium.NewContextAsync();
        var page = await first.NewPageAsync();
        var wrong = await page.GotoAsync($"{_app.BaseUrl}/app/callback?code=abc&state=not-a-state-we-issued");
        Assert.Equal(400, wrong!.Status);
        Assert.Equal("state-invalid", await AppPage.ProblemAsync(page));

        // Replayed: the callback URL of a completed sign-in, opened again in the same browser.
        string? callback = null;
        page.Request += (_, r) =>
        {
            if (r.Url.Contains("/app/callback?", StringComparison.Ordinal) && r.Url.Contains("code=", StringComparison.Ordinal))
            {
                callback = r.Url;
            }
        };
        await page.GotoAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient10))));
        await AppPage.SettleAsync(page);
        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.NotNull(callback);
        var replay = await page.GotoAsync(callback);
        Assert.Equal(400, replay!.Status);
        Assert.Equal("state-invalid", await AppPage.ProblemAsync(page));

        // Another browser: a sign-in started in one browser (the attacker's state) and completed in another (login CSRF).
        await using var attacker = await chromium.NewContextAsync();
        var started = await attacker.APIRequest.GetAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient10))),
            new APIRequestContextOptions { MaxRedirects = 0 });
        Assert.Equal(302, started.Status);
        await using var victimContext = await chromium.NewContextAsync();
        var victim = await victimContext.NewPageAsync();
        await victim.GotoAsync(started.Headers["location"]);
        await AppPage.SettleAsync(victim);
        Assert.Equal("state-invalid", await AppPage.ProblemAsync(victim));
        Assert.DoesNotContain(await victimContext.CookiesAsync([_app.BaseUrl]), c => c.Name == "kcds-session");
    }

    [Fact]
    public async Task A_PKCE_verifier_that_does_not_match_the_challenge_is_refused_by_the_authorization_server()
    {
        await using var context = await chromium.NewContextAsync();
        // The app's launch in this browser (its binding cookie lands in the context), stopped before the EHR's page...
        var started = await context.APIRequest.GetAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient13))),
            new APIRequestContextOptions { MaxRedirects = 0 });
        Assert.Equal(302, started.Status);
        var authorize = started.Headers["location"];
        var state = System.Web.HttpUtility.ParseQueryString(new Uri(authorize).Query)["state"]!;
        // ...then the verifier the app kept for this state is replaced, so the app will send one that does not match the
        // S256 challenge it sent: the authorization server must refuse the code.
        var launch = (await _app.Store.TakeLaunchAsync(state, CancellationToken.None))!;
        await _app.Store.AddLaunchAsync(launch with { CodeVerifier = KetamineCds.SmartApp.Launch.SmartAuthorizationClient.NewCodeVerifier() }, CancellationToken.None);
        var page = await context.NewPageAsync();
        var status = CallbackStatus(page);

        await page.GotoAsync(authorize);
        await AppPage.SettleAsync(page);

        Assert.Equal(403, status());
        Assert.Equal("token-refused", await AppPage.ProblemAsync(page));
        Assert.Contains("invalid_grant", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await context.CookiesAsync([_app.BaseUrl]), c => c.Name == "kcds-session");
    }

    /// <summary>The status of the app's callback response (reached through the authorization server's redirects).</summary>
    private static Func<int?> CallbackStatus(IPage page)
    {
        int? status = null;
        page.Response += (_, r) =>
        {
            if (r.Url.Contains("/app/callback", StringComparison.Ordinal))
            {
                status = r.Status;
            }
        };
        return () => status;
    }

    [Fact]
    public async Task A_token_without_patient_context_is_refused()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(Patient: null))));
        await AppPage.SettleAsync(page);

        Assert.Equal("no-patient", await AppPage.ProblemAsync(page));
    }

    [Fact]
    public async Task An_expired_session_without_a_refresh_token_asks_the_user_to_relaunch()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient10))));
        await AppPage.SettleAsync(page);
        Assert.Null(await AppPage.ProblemAsync(page));
        var id = (await context.CookiesAsync([_app.BaseUrl])).Single(c => c.Name == "kcds-session").Value;
        var session = (await _app.Store.FindSessionAsync(id, CancellationToken.None))!;
        Assert.Null(session.RefreshToken); // the app asked for no offline_access/online_access
        Assert.Equal(session.TokenExpires, session.SessionExpires); // so the session ends with the token

        // The token's expiry passes (set on the server-side session, rather than waiting on a shared, loaded machine).
        await _app.Store.SaveSessionAsync(session with { TokenExpires = DateTimeOffset.UtcNow.AddSeconds(-1) }, CancellationToken.None);
        var reload = await page.ReloadAsync();

        Assert.Equal(401, reload!.Status);
        Assert.Equal("session-expired", await AppPage.ProblemAsync(page));
        Assert.Contains("Open the app again", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Null(await _app.Store.FindSessionAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task An_expired_access_token_is_renewed_with_the_refresh_token_when_the_EHR_granted_one()
    {
        using var _ = _app.UseClient("test-ehr-refresh", SmartAppHost.PublicClientId, SmartClientAuthentication.None, extraScopes: ["online_access"]);
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient10))));
        await AppPage.SettleAsync(page);
        Assert.Null(await AppPage.ProblemAsync(page));
        var id = (await context.CookiesAsync([_app.BaseUrl])).Single(c => c.Name == "kcds-session").Value;
        var session = (await _app.Store.FindSessionAsync(id, CancellationToken.None))!;
        Assert.NotNull(session.RefreshToken);

        await _app.Store.SaveSessionAsync(session with { TokenExpires = DateTimeOffset.UtcNow.AddSeconds(-1) }, CancellationToken.None);
        var reload = await page.ReloadAsync();

        Assert.Equal(200, reload!.Status);
        Assert.Null(await AppPage.ProblemAsync(page));
        var renewed = (await _app.Store.FindSessionAsync(id, CancellationToken.None))!;
        Assert.NotEqual(session.AccessToken, renewed.AccessToken);
        Assert.True(renewed.TokenExpires > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task A_FHIR_server_that_fails_gives_a_plain_unavailable_page_not_an_empty_medication_list()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient13))));
        await AppPage.SettleAsync(page);
        Assert.Null(await AppPage.ProblemAsync(page));

        await servers.SetFhirServerFailingAsync(true);
        try
        {
            var reload = await page.ReloadAsync();
            Assert.Equal(503, reload!.Status);
            Assert.Equal("fhir-unavailable", await AppPage.ProblemAsync(page));
            Assert.DoesNotContain("mg/day", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await servers.SetFhirServerFailingAsync(false);
            // The app's circuit for this FHIR server opens on the failures; its break is 1 s in the test host.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }
    }

    [Fact]
    public async Task A_patient_without_ketamine_or_esketamine_gets_a_page_that_says_so()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(LaunchUrl(await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.PatientWithoutKetamine))));
        await AppPage.SettleAsync(page);

        Assert.Equal("no-ketamine", await AppPage.ProblemAsync(page));
    }
}
