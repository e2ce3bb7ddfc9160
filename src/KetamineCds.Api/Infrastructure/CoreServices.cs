using KetamineCds.Api.Cards;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Knowledge;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Infrastructure;

/// <summary>The hook pipeline and everything it needs, registered once for the host and the benchmarks.</summary>
public static class CoreServices
{
    public static IServiceCollection AddKetamineCdsCore(this IServiceCollection services)
    {
        services.AddOptions<CdsOptions>().BindConfiguration(CdsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);

        // Clinical knowledge: loaded once at start-up from fhir-profiles; a broken artifact stops the service from starting.
        services.AddSingleton(sp => KnowledgeLoader.Load(sp.GetRequiredService<IOptions<CdsOptions>>().Value.KnowledgeDirectory));
        services.AddSingleton<MedicationClassifier>();
        services.AddSingleton<ISigTextParser, SigTextParser>();
        services.AddSingleton<DailyDoseCalculator>();
        services.AddSingleton(sp => new RuleSettings(sp.GetRequiredService<IOptions<CdsOptions>>().Value.BenzodiazepineThresholdLorazepamMgPerDay));
        services.AddSingleton<CdsEvaluator>();
        services.AddSingleton<CardRenderer>();
        services.AddSingleton(sp => ResourceScreen.ForMedications(sp.GetRequiredService<ClinicalKnowledge>()));
        services.AddSingleton(sp => new PatientDataGatherer(sp.GetService<IFhirFallback>(), sp.GetRequiredService<ResourceScreen>()));
        services.AddSingleton<HookPipeline>();
        services.AddScoped<HookHandler>();
        return services;
    }
}
