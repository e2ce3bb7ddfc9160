using KetamineCds.Api.Cards;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.FhirAccess;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Knowledge;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOptions<CdsOptions>().BindConfiguration(CdsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton(TimeProvider.System);

// Clinical knowledge: loaded once at start-up from fhir-profiles; a broken artifact stops the service from starting.
builder.Services.AddSingleton(sp => KnowledgeLoader.Load(sp.GetRequiredService<IOptions<CdsOptions>>().Value.KnowledgeDirectory));
builder.Services.AddSingleton<MedicationClassifier>();
builder.Services.AddSingleton<ISigTextParser, NoSigTextParser>();
builder.Services.AddSingleton<DailyDoseCalculator>();
builder.Services.AddSingleton(sp => new RuleSettings(sp.GetRequiredService<IOptions<CdsOptions>>().Value.BenzodiazepineThresholdLorazepamMgPerDay));
builder.Services.AddSingleton<CdsEvaluator>();
builder.Services.AddSingleton<CardRenderer>();
builder.Services.AddFhirFallback(builder.Configuration);
builder.Services.AddSingleton(sp => new PatientDataGatherer(sp.GetService<IFhirFallback>()));
builder.Services.AddScoped<HookHandler>();

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

// Load the knowledge before accepting traffic, so readiness means the rules can run.
app.Services.GetRequiredService<ClinicalKnowledge>();
app.Run();

public partial class Program;
