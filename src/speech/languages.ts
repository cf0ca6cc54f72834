/**
 * Whisper's languages, by the English name its `verbose_json` answers report (OpenAI says
 * "chinese", Groq "Chinese"), with the code this API returns. From openai/whisper's tokenizer.
 */
const WHISPER_LANGUAGES: Record<string, string> = Object.fromEntries(
  (
    'english:en chinese:zh german:de spanish:es russian:ru korean:ko french:fr japanese:ja portuguese:pt turkish:tr ' +
    'polish:pl catalan:ca dutch:nl arabic:ar swedish:sv italian:it indonesian:id hindi:hi finnish:fi vietnamese:vi ' +
    'hebrew:he ukrainian:uk greek:el malay:ms czech:cs romanian:ro danish:da hungarian:hu tamil:ta norwegian:no ' +
    'thai:th urdu:ur croatian:hr bulgarian:bg lithuanian:lt latin:la maori:mi malayalam:ml welsh:cy slovak:sk ' +
    'telugu:te persian:fa latvian:lv bengali:bn serbian:sr azerbaijani:az slovenian:sl kannada:kn estonian:et ' +
    'macedonian:mk breton:br basque:eu icelandic:is armenian:hy nepali:ne mongolian:mn bosnian:bs kazakh:kk ' +
    'albanian:sq swahili:sw galician:gl marathi:mr punjabi:pa sinhala:si khmer:km shona:sn yoruba:yo somali:so ' +
    'afrikaans:af occitan:oc georgian:ka belarusian:be tajik:tg sindhi:sd gujarati:gu amharic:am yiddish:yi lao:lo ' +
    'uzbek:uz faroese:fo haitian_creole:ht pashto:ps turkmen:tk nynorsk:nn maltese:mt sanskrit:sa luxembourgish:lb ' +
    'myanmar:my tibetan:bo tagalog:tl malagasy:mg assamese:as tatar:tt hawaiian:haw lingala:ln hausa:ha bashkir:ba ' +
    'javanese:jv sundanese:su cantonese:yue ' +
    // Whisper's aliases.
    'burmese:my valencian:ca flemish:nl haitian:ht letzeburgesch:lb pushto:ps panjabi:pa moldavian:ro moldovan:ro ' +
    'sinhalese:si castilian:es mandarin:zh'
  )
    .split(' ')
    .map((pair) => pair.replace('_', ' ').split(':')),
);

/**
 * A detected language as a code: a Whisper language name ("chinese", "Haitian Creole") or a
 * code the provider already gave ("zh"). Undefined for anything else.
 */
export function languageCode(reported: unknown): string | undefined {
  if (typeof reported !== 'string') return undefined;
  const name = reported.trim().toLowerCase();
  if (/^[a-z]{2,3}$/.test(name)) return name;
  return Object.hasOwn(WHISPER_LANGUAGES, name) ? WHISPER_LANGUAGES[name] : undefined;
}
