using KetamineCds.SmartApp.Tests.Infrastructure;
using Microsoft.Playwright;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>
/// The app launched inside an EHR's iframe (as Epic and Oracle Health embed SMART apps): the EHR page on another loopback
/// origin frames /app/launch; the whole launch runs in the frame, the session cookie works there, and the page shows the
/// patient's figures. An origin not in frame-ancestors is refused by the browser.
/// </summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class EhrFrameTests(SmartServersFixture servers, ChromiumFixture chromium) : IAsyncLifetime
{
    private SmartAppHost _app = null!;

    public async Task InitializeAsync()
    {
        await servers.ResetAsync();
        _app = await SmartAppHost.SharedAsync(servers);
    }

    public Task DisposeAsync() => servers.ResetAsync();

    [Fact]
    public async Task The_app_launches_inside_an_EHR_iframe_and_shows_the_patients_figures()
    {
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Table2Patient(13)));
        var src = $"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}";
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync($"{SmartAppHost.EhrFrame!.Origin}/chart?src={Uri.EscapeDataString(src)}");
        var frame = page.Frames.First(f => f != page.MainFrame);
        await frame.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/app/patient"), new FrameWaitForURLOptions { Timeout = 60_000 });
        await frame.WaitForLoadStateAsync(LoadState.DOMContentLoaded);

        Assert.Equal(0, await frame.Locator("[data-problem]").CountAsync());
        Assert.Equal("50 mg/day", (await frame.Locator("[data-figure='lamotrigine-mg-per-day']").InnerTextAsync()).Trim());
        Assert.Equal("4 mg/day", (await frame.Locator("[data-figure='lorazepam-total-primary']").InnerTextAsync()).Trim());
        // The EHR's own page is still the top document: the app did not break out of the frame.
        Assert.StartsWith(SmartAppHost.EhrFrame.Origin, page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_origin_not_in_frame_ancestors_cannot_frame_the_app()
    {
        await using var other = await LoopbackPage.StartAsync();
        await using var context = await chromium.NewContextAsync();
        var evidence = Uri.EscapeDataString(_app.BaseUrl + "/app/evidence");

        // Control: the configured EHR origin frames the same page and sees its content.
        var allowed = await context.NewPageAsync();
        await allowed.GotoAsync($"{SmartAppHost.EhrFrame!.Origin}/chart?src={evidence}", new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        Assert.Equal(1, await allowed.Frames.First(f => f != allowed.MainFrame).Locator("main").CountAsync());

        // Another origin: Chromium blocks the framed document (CSP frame-ancestors), so the loaded frame holds none of it.
        var refused = await context.NewPageAsync();
        await refused.GotoAsync($"{other.Origin}/chart?src={evidence}", new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        Assert.Equal(0, await refused.Frames.First(f => f != refused.MainFrame).Locator("main").CountAsync());
    }
}
