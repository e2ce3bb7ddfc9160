using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// A tiny Kestrel site on 127.0.0.1 (free port) standing in for a client's redirect URI in the infrastructure tests:
/// GET /callback shows the query parameters it received (each in an element with id = the parameter name); GET
/// /chart?src=URL stands in for an EHR page that frames an app (the URL in an iframe).
/// </summary>
public sealed class LoopbackPage : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackPage(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public string CallbackUrl => BaseUrl + "/callback";

    /// <summary>The page's origin (scheme, host, port), as an app's frame-ancestors names it.</summary>
    public string Origin => BaseUrl;

    public static async Task<LoopbackPage> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/", () => Results.Content("<!doctype html><html lang=\"en\"><head><title>Loopback</title></head><body><main><h1>Loopback page</h1></main></body></html>", "text/html"));
        app.MapGet("/callback", (HttpRequest request) =>
        {
            var items = string.Join("", request.Query.Select(q => $"<dd id=\"{WebUtility.HtmlEncode(q.Key)}\">{WebUtility.HtmlEncode(q.Value.ToString())}</dd>"));
            return Results.Content($"<!doctype html><html lang=\"en\"><head><title>Callback</title></head><body><main><h1>Callback</h1><dl>{items}</dl></main></body></html>", "text/html");
        });
        app.MapGet("/chart", (HttpRequest request) => Results.Content(
            "<!doctype html><html lang=\"en\"><head><title>EHR chart</title></head><body><h1>EHR chart</h1>" +
            $"<iframe title=\"KetamineCds\" width=\"600\" height=\"900\" src=\"{WebUtility.HtmlEncode(request.Query["src"].ToString())}\"></iframe></body></html>",
            "text/html"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackPage(app, address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
