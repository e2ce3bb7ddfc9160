using Deque.AxeCore.Playwright;
using KetamineCds.SmartApp.Tests.Infrastructure;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>The public evidence page the cards' absolute link opens: no sign-in, no patient data, one anchor per finding.</summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class EvidencePageTests(SmartServersFixture servers, ChromiumFixture chromium) : IAsyncLifetime
{
    private SmartAppHost _app = null!;

    public async Task InitializeAsync() => _app = await SmartAppHost.SharedAsync(servers);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_evidence_page_opens_without_sign_in_with_the_figures_n_and_p_and_an_anchor_for_every_finding()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        var response = await page.GotoAsync($"{_app.BaseUrl}/app/evidence#benzodiazepine-threshold");

        Assert.Equal(200, response!.Status);
        foreach (var code in new[] { "lamotrigine-concurrent", "benzodiazepine-threshold", "benzodiazepine-borderline", "benzodiazepine-dose-unknown", "ketamine-course", "patient-data-unreadable" })
        {
            Assert.Equal(1, await page.Locator($"[id='{code}']").CountAsync());
        }

        var text = await page.Locator("main").InnerTextAsync();
        Assert.Contains("62.5% (5/8)", text, StringComparison.Ordinal);
        Assert.Contains("57.4% (31/54)", text, StringComparison.Ordinal);
        Assert.Contains("p = 0.02", text, StringComparison.Ordinal);
        Assert.Contains("Correction to: Joseph B", text, StringComparison.Ordinal);
        Assert.Contains("Limitations", text, StringComparison.Ordinal);
        Assert.DoesNotContain("table2-patient", text, StringComparison.Ordinal);
        Assert.Empty(await context.CookiesAsync([_app.BaseUrl]));
        EhrLaunchTests.AssertNoDiscontinuationAdvice(text);

        var results = await page.RunAxe();
        var blocking = results.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help}").ToList();
        Assert.True(blocking.Count == 0, string.Join("\n", blocking));
    }
}
