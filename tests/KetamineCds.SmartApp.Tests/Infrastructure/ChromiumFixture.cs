using Microsoft.Playwright;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// Headless Debian Chromium (/usr/bin/chromium) driven by Playwright for .NET, launched once per test run. Playwright's
/// own browser download is never used (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD, ExecutablePath); each launch gets a fresh
/// temporary profile (user-data-dir) from Playwright, and each test should take its own context (fresh cookies) with
/// <see cref="NewContextAsync"/>.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>No GPU, no QUIC, no background traffic: loopback only.</summary>
    public static readonly IReadOnlyList<string> ChromiumArguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium is not started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run .ci/install-prerequisites.sh (installs Debian's chromium).");
        }

        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArguments,
            Timeout = 60_000,
        });
    }

    /// <summary>A fresh context (own cookies and storage). Width defaults to an EHR side panel (600 px).</summary>
    public Task<IBrowserContext> NewContextAsync(int width = 600, int height = 900) =>
        Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = "en-US",
            TimezoneId = "UTC",
        });

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
