using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Clinical.Knowledge;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddKetamineCdsCore();

var app = builder.Build();

// Errors never leak a stack trace: the boundary logs the type and answers an OperationOutcome.
app.UseExceptionHandler(errorApp => errorApp.Run(context =>
{
    var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("KetamineCds.Errors");
    var error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
    Log.Unhandled(logger, context.Request.Path, error?.GetType().Name ?? "unknown");
    return OperationOutcomes.WriteAsync(context, StatusCodes.Status500InternalServerError, "exception", "The service could not process this request.");
}));

app.MapCdsHooks();
app.MapGet("/healthz", () => TypedResults.Text("ok"));
app.MapGet("/readyz", (ClinicalKnowledge knowledge) => TypedResults.Text($"ready: {knowledge.Ingredients.Count} ingredients, {knowledge.Products.Count} products"));

// Load the knowledge and run one synthetic hook call before accepting traffic: readiness means the rules can run.
await Warmup.RunAsync(app.Services);
await app.RunAsync();

public partial class Program;
