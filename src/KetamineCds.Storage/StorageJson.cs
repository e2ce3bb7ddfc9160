using System.Text.Json;
using System.Text.Json.Serialization;

namespace KetamineCds.Storage;

/// <summary>
/// The card numbers JSON of the ledger (<c>card_ledger.numbers_json</c>), source-generated: written for every card
/// issued, so the reflection serializer's per-call metadata walk showed in the profile (issue 8 item 1). The options
/// are the ones the store used before (<see cref="JsonSerializerDefaults.Web"/>): the same bytes, and rows written
/// before read back unchanged (StorageJsonTests).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CardNumbers))]
internal sealed partial class StorageJson : JsonSerializerContext;
