using KetamineCds.Api.Tests.MultiInstance;
using KetamineCds.SmartApp.Tests.Infrastructure;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>
/// Two instances of the app on one real Redis, as behind a load balancer, in headless Chromium against the test EHR: the
/// launch starts on instance B, the EHR's redirect reaches instance A (the registered redirect URI), which finishes the
/// sign-in with the launch B stored; then instance B serves the session A created. Neither instance holds anything the
/// other needs in its own memory.
/// </summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class TwoInstanceLaunchTests(SmartServersFixture servers, ChromiumFixture chromium, RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    public Task InitializeAsync() => servers.ResetAsync();

    public Task DisposeAsync() => servers.ResetAsync();

    [Fact]
    public async Task A_launch_started_on_one_instance_is_finished_on_another_and_the_session_is_served_by_both()
    {
        var shared = new Dictionary<string, string?>
        {
            ["KetamineCds:Redis:Configuration"] = redis.Configuration,
            ["KetamineCds:Redis:KeyPrefix"] = $"smart-two-{Guid.NewGuid():N}:",
        };
        using var a = SmartAppHost.StartAnother(servers, shared);
        // B sends the EHR A's redirect URI, as every instance behind one public name does.
        using var b = SmartAppHost.StartAnother(servers, new Dictionary<string, string?>(shared) { ["KetamineCds:SmartApp:PublicBaseUrl"] = a.BaseUrl });
        await servers.RegisterClientAsync(new SmartClientRegistration(SmartAppHost.PublicClientId, [a.RedirectUri], SmartTestData.AppScopesV2 + " patient/*.read"));
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient01));
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        var callbacks = new List<string>();
        page.Request += (_, r) =>
        {
            if (r.Url.Contains("/app/callback", StringComparison.Ordinal))
            {
                callbacks.Add(new Uri(r.Url).GetLeftPart(UriPartial.Authority));
            }
        };

        await page.GotoAsync($"{b.BaseUrl}/app/launch?iss={Uri.EscapeDataString(servers.FhirBaseUrl)}&launch={launch}");
        await AppPage.SettleAsync(page);

        Assert.NotEmpty(callbacks);
        Assert.All(callbacks, origin => Assert.Equal(a.BaseUrl, origin));
        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.StartsWith(a.BaseUrl + "/app/patient", page.Url, StringComparison.Ordinal);
        var onA = await AppPage.FigureAsync(page, "lamotrigine-mg-per-day");

        // The same browser session (the cookie is the host's, whatever the port), now answered by instance B.
        var response = await page.GotoAsync($"{b.BaseUrl}/app/patient");

        Assert.Equal(200, response!.Status);
        Assert.Null(await AppPage.ProblemAsync(page));
        Assert.Equal(onA, await AppPage.FigureAsync(page, "lamotrigine-mg-per-day"));
        Assert.Equal("8 on ", (await AppPage.OutcomeAsync(page, "qids-latest"))[..5]);
    }
}
