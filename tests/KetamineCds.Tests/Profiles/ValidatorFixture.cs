using System.Diagnostics;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Tests.Profiles;

/// <summary>One validator for every profile test: building and warming it costs seconds.</summary>
public sealed class ValidatorFixture : IAsyncLifetime
{
    public ProfileValidator Validator { get; private set; } = null!;
    public IReadOnlyDictionary<string, string> Artifacts { get; } = KnowledgeLoader.ReadArtifacts();
    public TimeSpan CreateTime { get; private set; }
    public TimeSpan WarmUpTime { get; private set; }

    public async Task InitializeAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        Validator = await ProfileValidator.CreateAsync(Artifacts);
        CreateTime = stopwatch.Elapsed;
        WarmUpTime = await Validator.WarmUpAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

[CollectionDefinition(Name)]
public sealed class ValidatorCollection : ICollectionFixture<ValidatorFixture>
{
    public const string Name = "Profile validator";
}
