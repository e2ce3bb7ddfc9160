using KetamineCds.SmartApp.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>
/// Standalone launch (launch/patient, the EHR's patient picker), confidential clients (client_secret_basic and
/// private_key_jwt with ES384 and RS384), and an EHR that advertises only SMART v1 scopes.
/// </summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class ClientAndStandaloneLaunchTests(SmartServersFixture servers, ChromiumFixture chromium) : IAsyncLifetime
{
    private SmartAppHost _app = null!;

    public async Task InitializeAsync()
    {
        await servers.ResetAsync();
        _app = await SmartAppHost.SharedAsync(servers);
    }

    public Task DisposeAsync() => servers.ResetAsync();

    [Fact]
    public async Task Standalone_launch_asks_for_launch_patient_and_shows_the_patient_picked_in_the_EHR()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        var authorize = new List<string>();
        page.Request += (_, r) =>
        {
            if (r.Url.StartsWith(servers.AuthorizeEndpoint, StringComparison.Ordinal))
            {
                authorize.Add(r.Url);
            }
        };

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}");
        await page.Locator($"button[data-patient-id='{SmartTestData.Patient10}']").ClickAsync();
        await AppPage.SettleAsync(page);

        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.Equal("200 mg/day", await AppPage.FigureAsync(page, "lamotrigine-mg-per-day"));
        Assert.StartsWith("21 on ", await AppPage.OutcomeAsync(page, "qids-baseline"), StringComparison.Ordinal);
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(authorize[0]).Query);
        var scopes = query["scope"]!.Split(' ');
        Assert.Contains("launch/patient", scopes);
        Assert.DoesNotContain("launch", scopes);
        Assert.Null(query["launch"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(servers.FhirBaseUrl, query["aud"]);
        Assert.Contains("patient/MedicationStatement.rs", scopes);
    }

    [Fact]
    public async Task A_confidential_client_with_client_secret_basic_signs_in()
    {
        const string clientId = "ketamine-app-secret";
        const string secret = "app-test-secret-0123456789";
        await servers.RegisterClientAsync(new SmartClientRegistration(clientId, [_app.RedirectUri], SmartTestData.AppScopesV2, "client_secret_basic", secret));
        using var _ = _app.UseClient("test-ehr-secret", clientId, SmartClientAuthentication.ClientSecretBasic, secret: secret);

        await AssertSignsInAsync();
    }

    [Theory]
    [InlineData("ES384")]
    [InlineData("RS384")]
    public async Task An_asymmetric_client_signs_in_with_a_private_key_jwt_assertion(string algorithm)
    {
        using var key = SmartClientKey.Create(algorithm);
        var clientId = "ketamine-app-jwt-" + algorithm.ToLowerInvariant();
        await servers.RegisterClientAsync(new SmartClientRegistration(clientId, [_app.RedirectUri], SmartTestData.AppScopesV2, "private_key_jwt",
            PublicJwksJson: key.PublicJwksJson, SigningAlgorithm: algorithm));
        using var _ = _app.UseClient("test-ehr-jwt-" + algorithm, clientId, SmartClientAuthentication.PrivateKeyJwt,
            privateKeyPem: key.PrivateKeyPem, algorithm: algorithm, keyId: key.KeyId);

        await AssertSignsInAsync();
    }

    [Fact]
    public async Task A_confidential_client_with_a_wrong_secret_is_refused_with_a_plain_page()
    {
        const string clientId = "ketamine-app-secret-wrong";
        await servers.RegisterClientAsync(new SmartClientRegistration(clientId, [_app.RedirectUri], SmartTestData.AppScopesV2, "client_secret_basic", "the-right-secret-0123456789"));
        using var _ = _app.UseClient("test-ehr-secret-wrong", clientId, SmartClientAuthentication.ClientSecretBasic, secret: "a-wrong-secret-0123456789");
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient01))}");
        await AppPage.SettleAsync(page);

        Assert.Equal("token-refused", await AppPage.ProblemAsync(page));
        Assert.DoesNotContain("a-wrong-secret", await page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_EHR_that_advertises_only_SMART_v1_is_asked_for_v1_scopes_and_the_page_still_reads()
    {
        await servers.SetSmartV1OnlyAsync(true);
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        string? scope = null;
        page.Request += (_, r) =>
        {
            if (r.Url.StartsWith(servers.AuthorizeEndpoint, StringComparison.Ordinal))
            {
                scope ??= System.Web.HttpUtility.ParseQueryString(new Uri(r.Url).Query)["scope"];
            }
        };

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient13))}");
        await AppPage.SettleAsync(page);

        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.Contains("patient/*.read", scope!.Split(' '));
        Assert.DoesNotContain(scope.Split(' '), s => s.EndsWith(".rs", StringComparison.Ordinal));
        Assert.Equal("50 mg/day", await AppPage.FigureAsync(page, "lamotrigine-mg-per-day"));
    }

    private async Task AssertSignsInAsync()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient01))}");
        await AppPage.SettleAsync(page);

        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.Equal("250 mg/day", await AppPage.FigureAsync(page, "lamotrigine-mg-per-day"));
        Assert.Equal("3 mg/day", await AppPage.FigureAsync(page, "lorazepam-total-primary"));
    }
}
