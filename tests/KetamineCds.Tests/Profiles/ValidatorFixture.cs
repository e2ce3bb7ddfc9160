using System.Diagnostics;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Tests.Profiles;

/// <summary>One validator for every profile test: building and warming it costs seconds.</summary>
public sealed class ValidatorFixture : IAsyncLifetime
{
    private readonly Lazy<Task<ProfileValidator>> _fullSpecification;

    public ValidatorFixture()
    {
        _fullSpecification = new(async () =>
        {
            var validator = await ProfileValidator.CreateAsync(Artifacts, new ProfileValidatorOptions { UseDefinitionCache = false });
            await validator.WarmUpAsync();
            return validator;
        });
    }

    /// <summary>The validator as the service builds it: prepared definitions, full specification on a miss.</summary>
    public ProfileValidator Validator { get; private set; } = null!;

    /// <summary>The reference: the whole specification.zip indexed and our snapshots generated at start-up.</summary>
    public Task<ProfileValidator> FullSpecificationValidator => _fullSpecification.Value;
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
