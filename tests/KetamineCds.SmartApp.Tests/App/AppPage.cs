using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>Reads the app's pages the way a test checks them: figures by their data attributes, problems by their code.</summary>
public static class AppPage
{
    /// <summary>Waits until the browser has left the authorization server: the patient page or a problem page.</summary>
    public static async Task SettleAsync(IPage page)
    {
        await page.WaitForURLAsync(new Regex("/app/(patient|callback|launch)"), new PageWaitForURLOptions { Timeout = 60_000 });
        await page.WaitForLoadStateAsync(LoadState.DOMContentLoaded);
    }

    public static async Task<string> FigureAsync(IPage page, string name) =>
        (await page.Locator($"[data-figure='{name}']").InnerTextAsync()).Trim();

    public static async Task<string> OutcomeAsync(IPage page, string name) =>
        (await page.Locator($"[data-outcome='{name}']").InnerTextAsync()).Trim();

    public static async Task<string?> ProblemAsync(IPage page)
    {
        var problem = page.Locator("[data-problem]");
        return await problem.CountAsync() == 0 ? null : await problem.GetAttributeAsync("data-problem");
    }
}
