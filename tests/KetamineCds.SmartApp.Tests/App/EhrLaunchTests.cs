using System.Globalization;
using System.Text.Json;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using KetamineCds.SmartApp.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>
/// The whole SMART App Launch in headless Chromium against the real test EHR (oidc-provider authorization server, Medplum
/// FHIR server seeded with the Table 2 patients): the page's figures are checked against each patient's expected.json
/// (medications, doses, lorazepam totals) and the seed README's course narrative (QIDS-SR16 and CADSS).
/// </summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class EhrLaunchTests(SmartServersFixture servers, ChromiumFixture chromium) : IAsyncLifetime
{
    private SmartAppHost _app = null!;

    public async Task InitializeAsync()
    {
        await servers.ResetAsync();
        _app = await SmartAppHost.SharedAsync(servers);
    }

    public Task DisposeAsync() => servers.ResetAsync();

    public static TheoryData<int, string, string, string, string, string, string> Courses => new()
    {
        // patient, QIDS-SR16 latest, % change, response latest, response any point, remission latest, remission any point
        // (tests/servers/seed/README.md, "What the app should show for the three courses")
        { 1, "8", "-57.9%", "yes", "yes", "no", "yes" },
        { 10, "13", "-38.1%", "no", "no", "no", "no" },
        { 13, "15", "-31.8%", "no", "yes", "no", "no" },
    };

    [Theory]
    [MemberData(nameof(Courses))]
    public async Task Ehr_launch_shows_the_patients_doses_lorazepam_totals_and_QIDS_course_from_the_record(
        int row, string latest, string change, string responseLatest, string responseAny, string remissionLatest, string remissionAny)
    {
        var expected = Expected(row);
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Table2Patient(row)));
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}");
        await AppPage.SettleAsync(page);

        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.EndsWith("/app/patient", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        Assert.Equal($"{Number(expected.GetProperty("lamotrigineMgPerDay"))} mg/day", await AppPage.FigureAsync(page, "lamotrigine-mg-per-day"));
        Assert.Equal(expected.GetProperty("lamotrigineDoseCategory").GetString(), await AppPage.FigureAsync(page, "lamotrigine-category"));
        if (expected.GetProperty("lorazepamEquivalentMgPerDay").ValueKind == JsonValueKind.Number)
        {
            Assert.Equal($"{Number(expected.GetProperty("lorazepamEquivalentMgPerDay"))} mg/day", await AppPage.FigureAsync(page, "lorazepam-total-primary"));
            Assert.Equal($"{Number(expected.GetProperty("lorazepamEquivalentMgPerDayAlternate"))} mg/day", await AppPage.FigureAsync(page, "lorazepam-total-alternate"));
        }
        else
        {
            Assert.Equal(0, await page.Locator("[data-figure='lorazepam-total-primary']").CountAsync());
        }

        Assert.StartsWith($"{Number(expected.GetProperty("baselineQidsSr"))} on ", await AppPage.OutcomeAsync(page, "qids-baseline"), StringComparison.Ordinal);
        Assert.StartsWith($"{latest} on ", await AppPage.OutcomeAsync(page, "qids-latest"), StringComparison.Ordinal);
        Assert.Equal(change, await AppPage.OutcomeAsync(page, "qids-change"));
        Assert.Equal(responseLatest, await AppPage.OutcomeAsync(page, "response-latest"));
        Assert.Equal(responseAny, await AppPage.OutcomeAsync(page, "response-any"));
        Assert.Equal(remissionLatest, await AppPage.OutcomeAsync(page, "remission-latest"));
        Assert.Equal(remissionAny, await AppPage.OutcomeAsync(page, "remission-any"));

        var text = await page.Locator("main").InnerTextAsync();
        AssertNoDiscontinuationAdvice(text);
        // The study's figures stand beside the patient's, labelled as the article's.
        Assert.Contains("62.5% (5/8)", text, StringComparison.Ordinal);
        Assert.Contains("p = 0.79", text, StringComparison.Ordinal);
        Assert.Contains("IV ketamine", text, StringComparison.Ordinal);
        // The charts have a text alternative.
        Assert.Contains("Baseline", await page.Locator("#qids-chart-desc").TextContentAsync() ?? "", StringComparison.Ordinal);
        Assert.Equal(6, await page.Locator("#cadss-table tbody tr").CountAsync());
    }

    [Fact]
    public async Task Patient_page_passes_axe_without_serious_or_critical_violations_at_side_panel_width_and_is_screenshotted()
    {
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient13));
        await using var context = await chromium.NewContextAsync(width: 600);
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}");
        await AppPage.SettleAsync(page);
        Assert.Null(await AppPage.ProblemAsync(page));

        var results = await page.RunAxe();
        var blocking = results.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help} ({v.Nodes.Length} nodes)").ToList();
        Assert.True(blocking.Count == 0, string.Join("\n", blocking));

        // Usable at ~600 px: nothing wider than the viewport outside the scrollable table wrappers.
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"The page is {overflow} px wider than a 600 px panel.");

        await ScreenshotsAsync(page, "smart-app-patient-13");
    }

    [Fact]
    public async Task Medications_named_only_through_an_included_Medication_are_recognized_and_dosed()
    {
        // Every order is a medicationReference with no display; the Medications come by _include (tests/servers/seed/README.md).
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.PatientWithMedicationReferences));
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}");
        await AppPage.SettleAsync(page);

        // The page opens at all only if the ketamine order was recognized from its Medication (RxNorm 6130).
        Assert.Null(await AppPage.ProblemAsync(page));
        // 1 tablet twice a day, 100 mg per tablet from the Medication's ingredient strength.
        Assert.Equal("200 mg/day", await AppPage.FigureAsync(page, "lamotrigine-mg-per-day"));
        // Lorazepam 2 mg three times a day: 6 mg lorazepam equivalents under both tables.
        Assert.Equal("6 mg/day", await AppPage.FigureAsync(page, "lorazepam-total-primary"));
        Assert.Equal("6 mg/day", await AppPage.FigureAsync(page, "lorazepam-total-alternate"));
        var text = await page.Locator("main").InnerTextAsync();
        Assert.DoesNotContain("could not be read (unreadable", text, StringComparison.Ordinal);
        AssertNoDiscontinuationAdvice(text);
    }

    [Fact]
    public async Task A_card_link_with_appContext_opens_the_app_on_that_finding()
    {
        var appContext = """{"finding":"lamotrigine-concurrent","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}""";
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient01, appContext));
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}");
        await AppPage.SettleAsync(page);

        Assert.Equal("#lamotrigine-concurrent", new Uri(page.Url).Fragment);
        Assert.Contains("Opened from the card about", await page.Locator(".focus").InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("#lamotrigine-concurrent").IsVisibleAsync());
        await ScreenshotsAsync(page, "smart-app-patient-01", fullWidthOnly: false);
    }

    [Fact]
    public async Task The_browser_holds_only_an_opaque_HttpOnly_session_cookie_and_the_page_carries_no_token()
    {
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient10));
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        IResponse? patientResponse = null;
        page.Response += (_, r) =>
        {
            if (r.Url.EndsWith("/app/patient", StringComparison.Ordinal))
            {
                patientResponse = r;
            }
        };

        await page.GotoAsync($"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}");
        await AppPage.SettleAsync(page);

        var cookies = await context.CookiesAsync([_app.BaseUrl]);
        var session = Assert.Single(cookies, c => c.Name == "kcds-session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite); // plain http on loopback; Secure + SameSite=None over https
        Assert.DoesNotContain(cookies, c => c.Value.Count(ch => ch == '.') == 2); // no JWT anywhere in the browser
        var stored = await _app.Store.FindSessionAsync(session.Value, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(SmartTestData.Patient10, stored.PatientId);
        var html = await page.ContentAsync();
        Assert.DoesNotContain(stored.AccessToken, html, StringComparison.Ordinal);

        Assert.NotNull(patientResponse);
        var headers = await patientResponse.AllHeadersAsync();
        Assert.Equal("no-store", headers["cache-control"]);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        Assert.Equal("no-referrer", headers["referrer-policy"]);
        Assert.Contains("frame-ancestors 'self'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", headers["content-security-policy"], StringComparison.Ordinal);
    }

    internal static void AssertNoDiscontinuationAdvice(string text)
    {
        foreach (var phrase in new[] { "consider stopping", "consider tapering", "hold lamotrigine", "reduce the dose", "taper the", "discontinue", "should stop", "stop lamotrigine", "reduce lamotrigine", "reduce the benzodiazepine" })
        {
            Assert.DoesNotContain(phrase, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static JsonElement Expected(int row) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "tests", "scenarios", "table2", $"patient-{row:00}", "expected.json"))).RootElement.Clone();

    private static string Number(JsonElement value) => value.GetDecimal().ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>
    /// Screenshots at side-panel width and full width. Into docs/images when KETAMINECDS_SCREENSHOTS=docs (to refresh the
    /// committed ones), else into the temp directory (so every run exercises the print/screen rendering without touching the tree).
    /// </summary>
    internal static async Task ScreenshotsAsync(IPage page, string name, bool fullWidthOnly = false)
    {
        var directory = Environment.GetEnvironmentVariable("KETAMINECDS_SCREENSHOTS") == "docs"
            ? Path.Combine(RepositoryPaths.Root, "docs", "images")
            : Path.Combine(Path.GetTempPath(), "ketaminecds-smart-screenshots");
        Directory.CreateDirectory(directory);
        if (!fullWidthOnly)
        {
            await page.SetViewportSizeAsync(600, 900);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, $"{name}-600px.png"), FullPage = true });
        }

        await page.SetViewportSizeAsync(1280, 900);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, $"{name}-full.png"), FullPage = true });
        Assert.True(new FileInfo(Path.Combine(directory, $"{name}-full.png")).Length > 10_000);
    }
}
