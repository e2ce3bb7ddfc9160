using System.Text.Json;

namespace KetamineCds.LoadHarness;

/// <summary>
/// The baseline: a bare ASP.NET Core endpoint on the same runtime and Kestrel defaults that only parses the hook body
/// with System.Text.Json and answers an empty card list. The service's throughput is reported as a ratio to this.
/// </summary>
public static class BareServer
{
    public static void Run(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");
        app.MapPost("/cds-services/{id}", async (HttpRequest request) =>
        {
            using var document = await JsonDocument.ParseAsync(request.Body);
            return Results.Text("{\"cards\":[]}", "application/json");
        });
        app.Run();
    }
}
