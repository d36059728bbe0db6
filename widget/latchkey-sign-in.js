/*! Latchkey sign-in widget v1. Plain JavaScript, no dependencies, no build step.
 * Speaks Okta's IDX protocol; API-compatible with the part of the Okta Sign-In Widget that the
 * embedded-widget recipe and typical apps use. Renders every server or user string as text. */
(() => {
  'use strict';

  // ---------------------------------------------------------------- message catalogs
  // `srv.<i18n key>` entries translate server messages by their i18n key; a key missing from a
  // catalog falls back to the server's own message text.
  const CATALOGS = {
    en: {
      'signin.title': 'Sign in', 'signin.submit': 'Sign in', next: 'Next', submit: 'Submit',
      username: 'Username', password: 'Password', rememberMe: 'Keep me signed in',
      forgot: 'Forgot password?', show: 'Show', hide: 'Hide',
      'show.label': 'Show password', 'hide.label': 'Hide password',
      'recovery.title': 'Reset your password', 'recovery.identifier': 'Email or Username',
      'recovery.intro': 'Enter your email or username and we will send you a code.',
      'select.title': 'Verify it’s you', 'select.intro': 'Choose how to receive your code.',
      'select.legend': 'Security method', 'auth.okta_email': 'Email', 'auth.okta_password': 'Password',
      'auth.webauthn': 'Security key or biometric (passkey)', 'passkey.title': 'Verify with your passkey', 'passkey.intro': 'Use your security key, or your device’s fingerprint, face or screen lock.', 'passkey.use': 'Use passkey', 'passkey.setupTitle': 'Set up a passkey', 'passkey.setupIntro': 'Create a passkey with a security key, or with this device’s fingerprint, face or screen lock.', 'passkey.create': 'Set up passkey', 'passkey.failed': 'The passkey could not be used. Try again.', 'passkey.unsupported': 'This browser cannot use passkeys. Choose another authenticator or browser.',
      'auth.google_otp': 'Google Authenticator', 'totp.title': 'Verify with your authenticator app', 'setup.title': 'Set up your authenticator app', 'setup.intro': 'Scan this QR code with an authenticator app (Google Authenticator, 1Password, …), then enter the 6-digit code it shows.', 'setup.qr': 'QR code to scan with your authenticator app', 'setup.secret': 'Can’t scan? Enter this key in the app instead:', 'totp.intro': 'Enter the 6-digit code your authenticator app shows now.', 'select.factorIntro': 'Your organization also asks for a second authenticator before you reset your password.', 'srv.api.latchkey.recovery.secondFactorRequired': 'Resetting your password also needs a second authenticator, and none is set up for your account. Contact your administrator to reset it.', 'srv.api.latchkey.signin.secondFactorRequired': 'Signing in also needs a second authenticator, and none is set up for your account. Contact your administrator.',
      'email.title': 'Check your email',
      'email.intro': 'If the account exists, we sent it an email with a verification code and a link. Enter the code below, or open the link in this browser.',
      'email.introTo': 'We sent a verification code to {0}. Enter the code below.',
      code: 'Verification code', verify: 'Verify', resend: 'Resend code',
      resendIn: 'You can request a new code in {0} s.', resendNow: 'Didn’t get a code? You can request a new one.',
      resent: 'If the account exists, we sent a new email. Only the most recent email works.',
      'email.help': 'The email can take a minute to arrive, and only the most recent one works. Nothing after a few minutes? Check your spam folder, make sure you typed the address you use for this account, then request a new code.', 'req.strength': 'Hard to guess (not a common password, word or pattern)', 'done.title': 'All set', 'done.text': 'You finished in another tab. You can close this tab.',
      'reset.title': 'Set a new password', newPassword: 'New password', confirmPassword: 'Re-enter new password',
      revokeSessions: 'Sign me out of all other devices', 'reset.submit': 'Reset password',
      'req.title': 'Password requirements', 'req.minLength': 'At least {0} characters',
      'req.maxLength': 'At most {0} characters', 'req.minLowerCase': 'At least {0} lowercase letter(s)',
      'req.minUpperCase': 'At least {0} uppercase letter(s)', 'req.minNumber': 'At least {0} number(s)',
      'req.minSymbol': 'At least {0} symbol(s)', 'req.excludeUsername': 'Does not contain your username',
      'req.excludeFirstName': 'Does not contain your first name', 'req.excludeLastName': 'Does not contain your last name',
      'req.history': 'Not one of your last {0} passwords', 'req.met': '(met)', 'req.unmet': '(not met)',
      mismatch: 'The passwords do not match.', required: 'This field is required.',
      back: 'Back to sign in', startOver: 'Start over', 'terminal.title': 'Sign in',
      'otherTab.title': 'Continue in your original tab',
      'otherTab.text': 'Enter the code in the browser tab where you asked to reset your password.',
      'otherTab.code': 'Your code', copy: 'Copy code', copied: 'Code copied.',
      success: 'Signing you in…', loading: 'Loading…', checkFields: 'Check the highlighted fields.',
      network: 'We could not reach the sign-in service. Check your connection and try again.',
      rateIn: 'Too many attempts. Try again in {0} seconds.', rate: 'Too many attempts. Try again later.',
      unknown: 'Something went wrong. Try again.',
      'srv.idx.session.expired': 'Your session has expired. Start over to continue.',
      'srv.tooManyRequests': 'Too many attempts. Try again later.',
      'srv.errors.E0000004': 'The username or password is incorrect.',
    },
    fr: {
      'signin.title': 'Connexion', 'signin.submit': 'Se connecter', next: 'Suivant', submit: 'Envoyer',
      username: 'Nom d’utilisateur', password: 'Mot de passe', rememberMe: 'Rester connecté',
      forgot: 'Mot de passe oublié ?', show: 'Afficher', hide: 'Masquer',
      'show.label': 'Afficher le mot de passe', 'hide.label': 'Masquer le mot de passe',
      'recovery.title': 'Réinitialiser votre mot de passe', 'recovery.identifier': 'E-mail ou nom d’utilisateur',
      'recovery.intro': 'Saisissez votre e-mail ou votre nom d’utilisateur et nous vous enverrons un code.',
      'select.title': 'Confirmez votre identité', 'select.intro': 'Choisissez comment recevoir votre code.',
      'select.legend': 'Méthode de sécurité', 'auth.okta_email': 'E-mail', 'auth.okta_password': 'Mot de passe',
      'auth.webauthn': 'Clé de sécurité ou biométrie (clé d’accès)', 'passkey.title': 'Vérifiez avec votre clé d’accès', 'passkey.intro': 'Utilisez votre clé de sécurité, ou l’empreinte, le visage ou le verrouillage d’écran de votre appareil.', 'passkey.use': 'Utiliser la clé d’accès', 'passkey.setupTitle': 'Configurer une clé d’accès', 'passkey.setupIntro': 'Créez une clé d’accès avec une clé de sécurité, ou avec l’empreinte, le visage ou le verrouillage d’écran de cet appareil.', 'passkey.create': 'Configurer la clé d’accès', 'passkey.failed': 'La clé d’accès n’a pas pu être utilisée. Réessayez.', 'passkey.unsupported': 'Ce navigateur ne prend pas en charge les clés d’accès. Choisissez un autre facteur ou un autre navigateur.',
      'auth.google_otp': 'Google Authenticator', 'totp.title': 'Vérifiez avec votre application d’authentification', 'setup.title': 'Configurer votre application d’authentification', 'setup.intro': 'Scannez ce code QR avec une application d’authentification (Google Authenticator, 1Password, …), puis saisissez le code à 6 chiffres qu’elle affiche.', 'setup.qr': 'Code QR à scanner avec votre application d’authentification', 'setup.secret': 'Impossible de scanner ? Saisissez plutôt cette clé dans l’application :', 'totp.intro': 'Saisissez le code à 6 chiffres affiché par votre application d’authentification.', 'select.factorIntro': 'Votre organisation demande aussi un second facteur avant la réinitialisation du mot de passe.', 'srv.api.latchkey.recovery.secondFactorRequired': 'La réinitialisation de votre mot de passe demande aussi un second facteur, et aucun n’est configuré pour votre compte. Contactez votre administrateur.', 'srv.api.latchkey.signin.secondFactorRequired': 'La connexion demande aussi un second facteur, et aucun n’est configuré pour votre compte. Contactez votre administrateur.',
      'email.title': 'Consultez vos e-mails',
      'email.intro': 'Si le compte existe, nous lui avons envoyé un e-mail avec un code de vérification et un lien. Saisissez le code ci-dessous ou ouvrez le lien dans ce navigateur.',
      'email.introTo': 'Nous avons envoyé un code de vérification à {0}. Saisissez-le ci-dessous.',
      code: 'Code de vérification', verify: 'Vérifier', resend: 'Renvoyer le code',
      resendIn: 'Vous pourrez demander un nouveau code dans {0} s.', resendNow: 'Pas de code ? Vous pouvez en demander un nouveau.',
      resent: 'Si le compte existe, nous avons envoyé un nouvel e-mail. Seul le plus récent est valable.',
      'email.help': 'L’e-mail peut mettre une minute à arriver, et seul le plus récent est valable. Rien après quelques minutes ? Vérifiez vos courriers indésirables et l’adresse saisie, puis demandez un nouveau code.', 'req.strength': 'Difficile à deviner (pas un mot de passe, un mot ou un motif courant)', 'done.title': 'C’est fait', 'done.text': 'Vous avez terminé dans un autre onglet. Vous pouvez fermer celui-ci.',
      'reset.title': 'Choisir un nouveau mot de passe', newPassword: 'Nouveau mot de passe',
      confirmPassword: 'Confirmer le nouveau mot de passe', revokeSessions: 'Me déconnecter de tous les autres appareils',
      'reset.submit': 'Réinitialiser le mot de passe', 'req.title': 'Exigences du mot de passe',
      'req.minLength': 'Au moins {0} caractères', 'req.maxLength': 'Au plus {0} caractères',
      'req.minLowerCase': 'Au moins {0} minuscule(s)', 'req.minUpperCase': 'Au moins {0} majuscule(s)',
      'req.minNumber': 'Au moins {0} chiffre(s)', 'req.minSymbol': 'Au moins {0} symbole(s)',
      'req.excludeUsername': 'Ne contient pas votre nom d’utilisateur', 'req.excludeFirstName': 'Ne contient pas votre prénom',
      'req.excludeLastName': 'Ne contient pas votre nom', 'req.history': 'Différent de vos {0} derniers mots de passe',
      'req.met': '(respectée)', 'req.unmet': '(non respectée)',
      mismatch: 'Les mots de passe ne correspondent pas.', required: 'Ce champ est obligatoire.',
      back: 'Retour à la connexion', startOver: 'Recommencer', 'terminal.title': 'Connexion',
      'otherTab.title': 'Continuez dans l’onglet d’origine',
      'otherTab.text': 'Saisissez le code dans l’onglet du navigateur où vous avez demandé la réinitialisation de votre mot de passe.',
      'otherTab.code': 'Votre code', copy: 'Copier le code', copied: 'Code copié.',
      success: 'Connexion en cours…', loading: 'Chargement…', checkFields: 'Vérifiez les champs signalés.',
      network: 'Impossible de joindre le service de connexion. Vérifiez votre connexion et réessayez.',
      rateIn: 'Trop de tentatives. Réessayez dans {0} secondes.', rate: 'Trop de tentatives. Réessayez plus tard.',
      unknown: 'Une erreur s’est produite. Réessayez.',
      'srv.idx.session.expired': 'Votre session a expiré. Recommencez pour continuer.',
      'srv.tooManyRequests': 'Trop de tentatives. Réessayez plus tard.',
      'srv.api.authn.error.PASSCODE_INVALID': 'Code non valide. Réessayez.',
      'srv.password.passwordRequirementsNotMet': 'Ce mot de passe ne respecte pas les exigences.',
      'srv.errors.E0000004': 'Échec de l’authentification.', 'srv.incorrectPassword': 'Mot de passe incorrect.',
      'srv.oie.selfservice.reset.password.not.allowed': 'La réinitialisation du mot de passe n’est pas autorisée pour le moment.',
    },
    de: {
      'signin.title': 'Anmelden', 'signin.submit': 'Anmelden', next: 'Weiter', submit: 'Senden',
      username: 'Benutzername', password: 'Passwort', rememberMe: 'Angemeldet bleiben',
      forgot: 'Passwort vergessen?', show: 'Anzeigen', hide: 'Verbergen',
      'show.label': 'Passwort anzeigen', 'hide.label': 'Passwort verbergen',
      'recovery.title': 'Passwort zurücksetzen', 'recovery.identifier': 'E-Mail oder Benutzername',
      'recovery.intro': 'Geben Sie Ihre E-Mail-Adresse oder Ihren Benutzernamen ein, dann senden wir Ihnen einen Code.',
      'select.title': 'Bestätigen Sie Ihre Identität', 'select.intro': 'Wählen Sie, wie Sie Ihren Code erhalten möchten.',
      'select.legend': 'Sicherheitsmethode', 'auth.okta_email': 'E-Mail', 'auth.okta_password': 'Passwort',
      'auth.webauthn': 'Sicherheitsschlüssel oder Biometrie (Passkey)', 'passkey.title': 'Mit Ihrem Passkey bestätigen', 'passkey.intro': 'Verwenden Sie Ihren Sicherheitsschlüssel oder Fingerabdruck, Gesicht oder Bildschirmsperre Ihres Geräts.', 'passkey.use': 'Passkey verwenden', 'passkey.setupTitle': 'Passkey einrichten', 'passkey.setupIntro': 'Erstellen Sie einen Passkey mit einem Sicherheitsschlüssel oder mit Fingerabdruck, Gesicht oder Bildschirmsperre dieses Geräts.', 'passkey.create': 'Passkey einrichten', 'passkey.failed': 'Der Passkey konnte nicht verwendet werden. Versuchen Sie es erneut.', 'passkey.unsupported': 'Dieser Browser unterstützt keine Passkeys. Wählen Sie einen anderen Faktor oder Browser.',
      'auth.google_otp': 'Google Authenticator', 'totp.title': 'Mit Ihrer Authenticator-App bestätigen', 'setup.title': 'Authenticator-App einrichten', 'setup.intro': 'Scannen Sie diesen QR-Code mit einer Authenticator-App (Google Authenticator, 1Password, …) und geben Sie dann den angezeigten 6-stelligen Code ein.', 'setup.qr': 'QR-Code zum Scannen mit Ihrer Authenticator-App', 'setup.secret': 'Scannen nicht möglich? Geben Sie stattdessen diesen Schlüssel in der App ein:', 'totp.intro': 'Geben Sie den 6-stelligen Code ein, den Ihre Authenticator-App gerade anzeigt.', 'select.factorIntro': 'Ihre Organisation verlangt vor dem Zurücksetzen des Passworts auch einen zweiten Faktor.', 'srv.api.latchkey.recovery.secondFactorRequired': 'Zum Zurücksetzen Ihres Passworts ist auch ein zweiter Faktor nötig, und für Ihr Konto ist keiner eingerichtet. Wenden Sie sich an Ihren Administrator.', 'srv.api.latchkey.signin.secondFactorRequired': 'Zum Anmelden ist auch ein zweiter Faktor nötig, und für Ihr Konto ist keiner eingerichtet. Wenden Sie sich an Ihren Administrator.',
      'email.title': 'Prüfen Sie Ihre E-Mails',
      'email.intro': 'Falls das Konto existiert, haben wir ihm eine E-Mail mit einem Bestätigungscode und einem Link gesendet. Geben Sie den Code unten ein oder öffnen Sie den Link in diesem Browser.',
      'email.introTo': 'Wir haben einen Bestätigungscode an {0} gesendet. Geben Sie den Code unten ein.',
      code: 'Bestätigungscode', verify: 'Bestätigen', resend: 'Code erneut senden',
      resendIn: 'Sie können in {0} s einen neuen Code anfordern.', resendNow: 'Keinen Code erhalten? Sie können einen neuen anfordern.',
      resent: 'Falls das Konto existiert, haben wir eine neue E-Mail gesendet. Nur die neueste E-Mail gilt.',
      'email.help': 'Die E-Mail kann eine Minute brauchen, und nur die neueste gilt. Nach einigen Minuten nichts? Prüfen Sie den Spam-Ordner und die eingegebene Adresse und fordern Sie dann einen neuen Code an.', 'req.strength': 'Schwer zu erraten (kein gängiges Passwort, Wort oder Muster)', 'done.title': 'Erledigt', 'done.text': 'Sie haben in einem anderen Tab abgeschlossen. Sie können diesen Tab schließen.',
      'reset.title': 'Neues Passwort festlegen', newPassword: 'Neues Passwort', confirmPassword: 'Neues Passwort wiederholen',
      revokeSessions: 'Auf allen anderen Geräten abmelden', 'reset.submit': 'Passwort zurücksetzen',
      'req.title': 'Anforderungen an das Passwort', 'req.minLength': 'Mindestens {0} Zeichen',
      'req.maxLength': 'Höchstens {0} Zeichen', 'req.minLowerCase': 'Mindestens {0} Kleinbuchstabe(n)',
      'req.minUpperCase': 'Mindestens {0} Großbuchstabe(n)', 'req.minNumber': 'Mindestens {0} Ziffer(n)',
      'req.minSymbol': 'Mindestens {0} Sonderzeichen', 'req.excludeUsername': 'Enthält nicht Ihren Benutzernamen',
      'req.excludeFirstName': 'Enthält nicht Ihren Vornamen', 'req.excludeLastName': 'Enthält nicht Ihren Nachnamen',
      'req.history': 'Keines Ihrer letzten {0} Passwörter', 'req.met': '(erfüllt)', 'req.unmet': '(nicht erfüllt)',
      mismatch: 'Die Passwörter stimmen nicht überein.', required: 'Dieses Feld ist erforderlich.',
      back: 'Zurück zur Anmeldung', startOver: 'Neu beginnen', 'terminal.title': 'Anmelden',
      'otherTab.title': 'Im ursprünglichen Tab fortfahren',
      'otherTab.text': 'Geben Sie den Code in dem Browser-Tab ein, in dem Sie das Zurücksetzen Ihres Passworts angefordert haben.',
      'otherTab.code': 'Ihr Code', copy: 'Code kopieren', copied: 'Code kopiert.',
      success: 'Sie werden angemeldet…', loading: 'Wird geladen…', checkFields: 'Prüfen Sie die markierten Felder.',
      network: 'Der Anmeldedienst ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
      rateIn: 'Zu viele Versuche. Versuchen Sie es in {0} Sekunden erneut.', rate: 'Zu viele Versuche. Versuchen Sie es später erneut.',
      unknown: 'Etwas ist schiefgelaufen. Versuchen Sie es erneut.',
      'srv.idx.session.expired': 'Ihre Sitzung ist abgelaufen. Beginnen Sie neu, um fortzufahren.',
      'srv.tooManyRequests': 'Zu viele Versuche. Versuchen Sie es später erneut.',
      'srv.api.authn.error.PASSCODE_INVALID': 'Ungültiger Code. Versuchen Sie es erneut.',
      'srv.password.passwordRequirementsNotMet': 'Dieses Passwort erfüllt die Anforderungen nicht.',
      'srv.errors.E0000004': 'Authentifizierung fehlgeschlagen.', 'srv.incorrectPassword': 'Das Passwort ist falsch.',
      'srv.oie.selfservice.reset.password.not.allowed': 'Das Zurücksetzen des Passworts ist derzeit nicht erlaubt.',
    },
    es: {
      'signin.title': 'Iniciar sesión', 'signin.submit': 'Iniciar sesión', next: 'Siguiente', submit: 'Enviar',
      username: 'Nombre de usuario', password: 'Contraseña', rememberMe: 'Mantener la sesión iniciada',
      forgot: '¿Olvidó su contraseña?', show: 'Mostrar', hide: 'Ocultar',
      'show.label': 'Mostrar contraseña', 'hide.label': 'Ocultar contraseña',
      'recovery.title': 'Restablecer la contraseña', 'recovery.identifier': 'Correo electrónico o nombre de usuario',
      'recovery.intro': 'Introduzca su correo electrónico o nombre de usuario y le enviaremos un código.',
      'select.title': 'Confirme su identidad', 'select.intro': 'Elija cómo recibir su código.',
      'select.legend': 'Método de seguridad', 'auth.okta_email': 'Correo electrónico', 'auth.okta_password': 'Contraseña',
      'auth.webauthn': 'Llave de seguridad o biometría (llave de acceso)', 'passkey.title': 'Verifica con tu llave de acceso', 'passkey.intro': 'Usa tu llave de seguridad, o la huella, el rostro o el bloqueo de pantalla de tu dispositivo.', 'passkey.use': 'Usar llave de acceso', 'passkey.setupTitle': 'Configura una llave de acceso', 'passkey.setupIntro': 'Crea una llave de acceso con una llave de seguridad, o con la huella, el rostro o el bloqueo de pantalla de este dispositivo.', 'passkey.create': 'Configurar llave de acceso', 'passkey.failed': 'No se pudo usar la llave de acceso. Inténtalo de nuevo.', 'passkey.unsupported': 'Este navegador no admite llaves de acceso. Elige otro factor u otro navegador.',
      'auth.google_otp': 'Google Authenticator', 'totp.title': 'Verifica con tu aplicación de autenticación', 'setup.title': 'Configura tu aplicación de autenticación', 'setup.intro': 'Escanea este código QR con una aplicación de autenticación (Google Authenticator, 1Password, …) e introduce el código de 6 dígitos que muestra.', 'setup.qr': 'Código QR para escanear con tu aplicación de autenticación', 'setup.secret': '¿No puedes escanearlo? Introduce esta clave en la aplicación:', 'totp.intro': 'Introduce el código de 6 dígitos que muestra ahora tu aplicación de autenticación.', 'select.factorIntro': 'Tu organización también pide un segundo factor antes de restablecer la contraseña.', 'srv.api.latchkey.recovery.secondFactorRequired': 'Para restablecer tu contraseña también hace falta un segundo factor, y tu cuenta no tiene ninguno. Ponte en contacto con tu administrador.', 'srv.api.latchkey.signin.secondFactorRequired': 'Para iniciar sesión también hace falta un segundo factor, y tu cuenta no tiene ninguno. Ponte en contacto con tu administrador.',
      'email.title': 'Revise su correo',
      'email.intro': 'Si la cuenta existe, le enviamos un correo con un código de verificación y un enlace. Introduzca el código a continuación o abra el enlace en este navegador.',
      'email.introTo': 'Enviamos un código de verificación a {0}. Introdúzcalo a continuación.',
      code: 'Código de verificación', verify: 'Verificar', resend: 'Reenviar código',
      resendIn: 'Podrá solicitar un código nuevo en {0} s.', resendNow: '¿No recibió el código? Puede solicitar uno nuevo.',
      resent: 'Si la cuenta existe, le enviamos un correo nuevo. Solo vale el más reciente.',
      'email.help': 'El correo puede tardar un minuto en llegar y solo vale el más reciente. ¿Nada después de unos minutos? Revise la carpeta de spam y la dirección que escribió, y solicite un código nuevo.', 'req.strength': 'Difícil de adivinar (no es una contraseña, palabra o patrón común)', 'done.title': 'Listo', 'done.text': 'Terminó en otra pestaña. Puede cerrar esta.',
      'reset.title': 'Elija una contraseña nueva', newPassword: 'Contraseña nueva', confirmPassword: 'Repita la contraseña nueva',
      revokeSessions: 'Cerrar sesión en todos los demás dispositivos', 'reset.submit': 'Restablecer contraseña',
      'req.title': 'Requisitos de la contraseña', 'req.minLength': 'Al menos {0} caracteres',
      'req.maxLength': 'Como máximo {0} caracteres', 'req.minLowerCase': 'Al menos {0} minúscula(s)',
      'req.minUpperCase': 'Al menos {0} mayúscula(s)', 'req.minNumber': 'Al menos {0} número(s)',
      'req.minSymbol': 'Al menos {0} símbolo(s)', 'req.excludeUsername': 'No contiene su nombre de usuario',
      'req.excludeFirstName': 'No contiene su nombre', 'req.excludeLastName': 'No contiene su apellido',
      'req.history': 'No es ninguna de sus últimas {0} contraseñas', 'req.met': '(cumplido)', 'req.unmet': '(no cumplido)',
      mismatch: 'Las contraseñas no coinciden.', required: 'Este campo es obligatorio.',
      back: 'Volver a iniciar sesión', startOver: 'Empezar de nuevo', 'terminal.title': 'Iniciar sesión',
      'otherTab.title': 'Continúe en la pestaña original',
      'otherTab.text': 'Introduzca el código en la pestaña del navegador donde solicitó restablecer su contraseña.',
      'otherTab.code': 'Su código', copy: 'Copiar código', copied: 'Código copiado.',
      success: 'Iniciando sesión…', loading: 'Cargando…', checkFields: 'Revise los campos señalados.',
      network: 'No pudimos conectar con el servicio de inicio de sesión. Compruebe su conexión e inténtelo de nuevo.',
      rateIn: 'Demasiados intentos. Inténtelo de nuevo en {0} segundos.', rate: 'Demasiados intentos. Inténtelo más tarde.',
      unknown: 'Algo salió mal. Inténtelo de nuevo.',
      'srv.idx.session.expired': 'Su sesión ha caducado. Empiece de nuevo para continuar.',
      'srv.tooManyRequests': 'Demasiados intentos. Inténtelo más tarde.',
      'srv.api.authn.error.PASSCODE_INVALID': 'Código no válido. Inténtelo de nuevo.',
      'srv.password.passwordRequirementsNotMet': 'La contraseña no cumple los requisitos.',
      'srv.errors.E0000004': 'Error de autenticación.', 'srv.incorrectPassword': 'La contraseña es incorrecta.',
      'srv.oie.selfservice.reset.password.not.allowed': 'El restablecimiento de la contraseña no está permitido en este momento.',
    },
    ja: {
      'signin.title': 'サインイン', 'signin.submit': 'サインイン', next: '次へ', submit: '送信',
      username: 'ユーザー名', password: 'パスワード', rememberMe: 'サインインしたままにする',
      forgot: 'パスワードをお忘れですか？', show: '表示', hide: '非表示',
      'show.label': 'パスワードを表示', 'hide.label': 'パスワードを非表示',
      'recovery.title': 'パスワードのリセット', 'recovery.identifier': 'メールアドレスまたはユーザー名',
      'recovery.intro': 'メールアドレスまたはユーザー名を入力してください。コードをお送りします。',
      'select.title': '本人確認', 'select.intro': 'コードの受け取り方法を選択してください。',
      'select.legend': 'セキュリティ方式', 'auth.okta_email': 'メール', 'auth.okta_password': 'パスワード',
      'auth.webauthn': 'セキュリティキーまたは生体認証（パスキー）', 'passkey.title': 'パスキーで確認', 'passkey.intro': 'セキュリティキー、またはデバイスの指紋・顔・画面ロックを使ってください。', 'passkey.use': 'パスキーを使う', 'passkey.setupTitle': 'パスキーを設定', 'passkey.setupIntro': 'セキュリティキー、またはこのデバイスの指紋・顔・画面ロックでパスキーを作成してください。', 'passkey.create': 'パスキーを設定', 'passkey.failed': 'パスキーを使用できませんでした。もう一度お試しください。', 'passkey.unsupported': 'このブラウザはパスキーに対応していません。別の認証要素かブラウザを選んでください。',
      'auth.google_otp': 'Google Authenticator', 'totp.title': '認証アプリで確認', 'setup.title': '認証アプリを設定', 'setup.intro': '認証アプリ（Google Authenticator、1Password など）でこのQRコードを読み取り、表示された6桁のコードを入力してください。', 'setup.qr': '認証アプリで読み取るQRコード', 'setup.secret': '読み取れない場合は、代わりにこのキーをアプリに入力してください：', 'totp.intro': '認証アプリに表示されている6桁のコードを入力してください。', 'select.factorIntro': 'パスワードを再設定する前に、組織の設定により2つ目の認証要素も必要です。', 'srv.api.latchkey.recovery.secondFactorRequired': 'パスワードの再設定には2つ目の認証要素が必要ですが、このアカウントには設定されていません。管理者に連絡してください。', 'srv.api.latchkey.signin.secondFactorRequired': 'サインインには2つ目の認証要素が必要ですが、このアカウントには設定されていません。管理者に連絡してください。',
      'email.title': 'メールを確認してください',
      'email.intro': 'アカウントが存在する場合、確認コードとリンクを記載したメールを送信しました。以下にコードを入力するか、このブラウザーでリンクを開いてください。',
      'email.introTo': '{0} に確認コードを送信しました。以下にコードを入力してください。',
      code: '確認コード', verify: '確認', resend: 'コードを再送信',
      resendIn: '{0} 秒後に新しいコードをリクエストできます。', resendNow: 'コードが届きませんか？新しいコードをリクエストできます。',
      resent: 'アカウントが存在する場合、新しいメールを送信しました。有効なのは最新のメールだけです。',
      'email.help': 'メールの到着には1分ほどかかることがあり、有効なのは最新のメールだけです。数分たっても届かない場合は、迷惑メールフォルダーと入力したアドレスを確認してから、新しいコードをリクエストしてください。', 'req.strength': '推測されにくい（よくあるパスワード、単語、パターンではない）', 'done.title': '完了しました', 'done.text': '別のタブで完了しました。このタブは閉じてかまいません。',
      'reset.title': '新しいパスワードの設定', newPassword: '新しいパスワード', confirmPassword: '新しいパスワード（確認）',
      revokeSessions: '他のすべてのデバイスからサインアウトする', 'reset.submit': 'パスワードをリセット',
      'req.title': 'パスワードの要件', 'req.minLength': '{0} 文字以上', 'req.maxLength': '{0} 文字以下',
      'req.minLowerCase': '小文字 {0} 文字以上', 'req.minUpperCase': '大文字 {0} 文字以上', 'req.minNumber': '数字 {0} 文字以上',
      'req.minSymbol': '記号 {0} 文字以上', 'req.excludeUsername': 'ユーザー名を含まない', 'req.excludeFirstName': '名を含まない',
      'req.excludeLastName': '姓を含まない', 'req.history': '直近 {0} 個のパスワードと異なる',
      'req.met': '（満たしています）', 'req.unmet': '（満たしていません）',
      mismatch: 'パスワードが一致しません。', required: 'この項目は必須です。',
      back: 'サインインに戻る', startOver: '最初からやり直す', 'terminal.title': 'サインイン',
      'otherTab.title': '元のタブで続行してください',
      'otherTab.text': 'パスワードのリセットをリクエストしたブラウザーのタブでコードを入力してください。',
      'otherTab.code': 'あなたのコード', copy: 'コードをコピー', copied: 'コードをコピーしました。',
      success: 'サインインしています…', loading: '読み込み中…', checkFields: '強調表示された項目を確認してください。',
      network: 'サインインサービスに接続できません。接続を確認して、もう一度お試しください。',
      rateIn: '試行回数が多すぎます。{0} 秒後にもう一度お試しください。', rate: '試行回数が多すぎます。しばらくしてからもう一度お試しください。',
      unknown: '問題が発生しました。もう一度お試しください。',
      'srv.idx.session.expired': 'セッションの有効期限が切れました。最初からやり直してください。',
      'srv.tooManyRequests': '試行回数が多すぎます。しばらくしてからもう一度お試しください。',
      'srv.api.authn.error.PASSCODE_INVALID': 'コードが無効です。もう一度お試しください。',
      'srv.password.passwordRequirementsNotMet': 'このパスワードは要件を満たしていません。',
      'srv.errors.E0000004': '認証に失敗しました。', 'srv.incorrectPassword': 'パスワードが正しくありません。',
      'srv.oie.selfservice.reset.password.not.allowed': '現在、パスワードのリセットは許可されていません。',
    },
  };

  const STORE_KEY = 'latchkey-transaction-storage';
  const META_TTL_MS = 30 * 60 * 1000;
  const EXPIRED_KEY = 'idx.session.expired';
  // Set and removed at once when a transaction finishes: the `storage` event tells the other tabs
  // of this browser that hold the same transaction (by `state`, not a secret) that it is done.
  const FINISHED_KEY = 'latchkey-transaction-finished';
  // The code a link opened in another browser shows is kept in this tab's history entry (not in
  // web storage, WEB-3; not on the server), so a reload shows it again after the address bar
  // was cleaned.
  const OTHER_TAB_STATE = 'latchkeyOtherTabCode';
  let instances = 0;

  // ---------------------------------------------------------------- small helpers
  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid); // strings become text nodes
    return el;
  };
  const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const randomString = (n) => {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => abc[b % 62]).join('');
  };
  const sha256 = async (s) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
  const list = (w) => (w && Array.isArray(w.value) ? w.value : []);
  const resolvePath = (root, path) => {
    const p = Array.isArray(path) ? path[0] : path;
    if (typeof p !== 'string') return p;
    let cur = root;
    for (const m of p.replace(/^\$\.?/, '').matchAll(/([^.[\]]+)|\[(\d+)\]/g)) cur = cur == null ? cur : cur[m[1] ?? Number(m[2])];
    return cur && cur.type === 'object' && cur.value && typeof cur.value === 'object' ? cur.value : cur; // unwrap {type:'object',value}
  };
  const msgKey = (m) => m && m.i18n && m.i18n.key;
  const decodeJwt = (t) => {
    try {
      const s = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(s + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0))));
    } catch { return null; }
  };
  const count = (v, re) => (v.match(re) || []).length;

  // Transaction metadata shared across tabs, keyed by `state` (never tokens, codes or passwords).
  const metaStore = {
    read() {
      try {
        const all = JSON.parse(localStorage.getItem(STORE_KEY) || '{}');
        const now = Date.now();
        for (const k of Object.keys(all)) if (!(all[k] && now - all[k].dateCreated < META_TTL_MS)) delete all[k];
        return all;
      } catch { return {}; }
    },
    write(all) {
      try {
        if (Object.keys(all).length) localStorage.setItem(STORE_KEY, JSON.stringify(all));
        else localStorage.removeItem(STORE_KEY);
      } catch { /* storage disabled: same-tab flows still work */ }
    },
    get(state) { const e = this.read()[state]; return e ? e.meta : null; },
    save(meta) { const all = this.read(); all[meta.state] = { dateCreated: Date.now(), meta }; this.write(all); },
    remove(state) { const all = this.read(); delete all[state]; this.write(all); },
  };

  // ---------------------------------------------------------------- the widget
  class LatchkeySignIn {
    constructor(options = {}) {
      this.o = { ...options };
      this.features = { rememberMe: true, autoFocus: true, showPasswordToggleOnSignInPage: true, ...(options.features || {}) };
      this.handlers = {};
      this.uid = `lk${++instances}`;
      this.timers = new Set();
      const issuer = String(options.issuer || '').replace(/\/+$/, '');
      const i = issuer.indexOf('/oauth2');
      this.issuer = issuer;
      this.baseUrl = i > 0 ? issuer : `${issuer}/oauth2`;
      this.domain = i > 0 ? issuer.slice(0, i) : issuer;
      this.lang = this.pickLanguage(options.language);
    }

    // -- public API (Okta Sign-In Widget subset)
    on(event, fn) { (this.handlers[event] ||= []).push(fn); return this; }
    off(event, fn) { this.handlers[event] = fn ? (this.handlers[event] || []).filter((f) => f !== fn) : []; return this; }
    showSignInAndRedirect(opts = {}) { return this.begin(opts, 'redirect'); }
    showSignIn(opts = {}) { return this.begin(opts, 'tokens'); }
    showSignInToGetTokens(opts = {}) { return this.begin(opts, 'tokens').then((r) => r.tokens); }
    renderEl(opts = {}, success, error) {
      return this.showSignIn(opts).then((r) => { if (success) success(r); return r; }, (e) => { if (error) error(e); throw e; });
    }
    hide() { if (this.root) this.root.hidden = true; }
    show() { if (this.root) this.root.hidden = false; }
    remove() {
      this.removed = true;
      if (this.onStorage) window.removeEventListener('storage', this.onStorage);
      this.clearTimers();
      if (this.abort) this.abort.abort();
      if (this.root) this.root.remove();
      this.root = null;
    }

    // -- language and messages
    pickLanguage(opt) {
      const wanted = typeof opt === 'function' ? opt(Object.keys(CATALOGS), 'en') : opt;
      const candidates = [wanted, ...(navigator.languages || [navigator.language])].filter(Boolean);
      for (const c of candidates) {
        const base = String(c).toLowerCase().split(/[-_]/)[0];
        if (CATALOGS[base]) return base;
      }
      return 'en';
    }
    t(key, ...args) {
      const custom = this.o.i18n || {};
      const s = (custom[this.lang] || {})[key] ?? CATALOGS[this.lang][key] ?? (custom.en || {})[key] ?? CATALOGS.en[key] ?? key;
      return String(s).replace(/\{(\d)\}/g, (_, n) => String(args[n] ?? ''));
    }
    // A server message: our translation of its i18n key if we have one, else the server's text.
    serverText(m) {
      const k = msgKey(m);
      const custom = (this.o.i18n || {})[this.lang] || {};
      if (k && (custom[`srv.${k}`] || CATALOGS[this.lang][`srv.${k}`])) return this.t(`srv.${k}`);
      return m.message || this.t('unknown');
    }

    emit(event, ...args) {
      for (const fn of this.handlers[event] || []) {
        try { fn(...args); } catch (e) { setTimeout(() => { throw e; }); }
      }
    }

    // -- boot
    begin(opts, mode) {
      this.mode = mode;
      const el = opts.el || this.o.el;
      this.host = typeof el === 'string' ? document.querySelector(el) : el;
      return new Promise((resolve, reject) => {
        this.settle = { resolve, reject };
        if (!this.host) return reject(new Error('LatchkeySignIn: `el` does not name an element'));
        // A magic-link page opened in another browser knows no client; it only shows the code.
        const kept = !this.o.otp && !this.o.clientId && history.state && history.state[OTHER_TAB_STATE];
        if (typeof kept === 'string') this.o = { ...this.o, otp: kept, state: 'kept', keptOtherTab: true };
        const linkOnly = this.o.otp && this.o.state;
        if (!this.o.issuer || (!this.o.clientId && !linkOnly)) return reject(new Error('LatchkeySignIn: `issuer` and `clientId` are required'));
        this.mount();
        this.start().catch((e) => this.fatal(e));
      });
    }

    mount() {
      if (this.root) this.root.remove();
      const logo = this.o.logo ? h('img', { class: 'lk-logo-img', src: this.o.logo, alt: this.o.brandName || '' }) : h('div', { class: 'lk-logo', 'aria-hidden': 'true' });
      this.heading = h('h2', { class: 'lk-title', tabindex: '-1', id: `${this.uid}-title` });
      this.alert = h('div', { class: 'lk-alert', role: 'alert' });
      this.srLive = h('div', { class: 'lk-sr', 'aria-live': 'polite' });
      this.body = h('div', { class: 'lk-body' });
      this.root = h('section', { class: 'lk-widget', lang: this.lang, 'aria-labelledby': `${this.uid}-title` },
        h('div', { class: 'lk-header' }, logo, this.o.brandName && !this.o.logo ? h('p', { class: 'lk-brand', text: this.o.brandName }) : null),
        this.heading, this.alert, this.srLive, this.body);
      this.host.append(this.root);
      this.setTitle(this.t('loading'));
    }

    async start() {
      this.watchOtherTabs();
      const { otp, state } = this.o;
      if (this.o.keptOtherTab) return this.renderOtherTab(String(otp));
      if (otp && state) return this.magicLink(String(otp), String(state));
      if (this.o.interactionHandle) {
        this.meta = { interactionHandle: this.o.interactionHandle, state: this.o.state, codeVerifier: this.o.codeVerifier, external: true };
        return this.introspectAndShow();
      }
      return this.freshTransaction();
    }

    // A transaction this browser already started for this client and page (another tab, a
    // reload, a new start) is resumed rather than replaced (issue 13, item 6): the recovery email
    // it asked for is bound to it, and a new transaction started inside the mail gap would get no
    // email of its own. Only when the app set no state or PKCE pair of its own, which a resumed
    // transaction would not carry.
    async resumeTransaction() {
      if (this.o.state || this.o.codeChallenge || this.o.codeVerifier) return false;
      const redirectUri = this.o.redirectUri || location.href.split('#')[0];
      const candidates = Object.values(metaStore.read()).map((e) => e.meta)
        .filter((m) => m && m.interactionHandle && m.clientId === this.o.clientId && m.issuer === this.issuer && m.redirectUri === redirectUri)
        .sort((a, b) => (b.dateCreated || 0) - (a.dateCreated || 0));
      for (const meta of candidates) {
        this.meta = meta;
        const res = await this.introspect();
        if (res.ok && res.data && !res.data.successWithInteractionCode && this.primary(res.data)) { this.show(res.data); return true; }
        metaStore.remove(meta.state);
      }
      this.meta = null;
      return false;
    }

    async freshTransaction() {
      if (await this.resumeTransaction()) return;
      const disc = await this.request(`${this.issuer}/.well-known/openid-configuration`, null, { get: true, creds: false });
      if (!disc.ok || !disc.data) return this.failed(disc);
      const methods = disc.data.code_challenge_methods_supported || [];
      if (!methods.includes('S256')) throw new Error('Invalid code_challenge_method');
      if (this.o.codeChallengeMethod && this.o.codeChallengeMethod !== 'S256') throw new Error('Invalid code_challenge_method');
      let codeVerifier = this.o.codeVerifier;
      let codeChallenge = this.o.codeChallenge;
      if (!codeChallenge) {
        codeVerifier ||= b64url(crypto.getRandomValues(new Uint8Array(32)));
        codeChallenge = b64url(await sha256(codeVerifier));
      }
      const state = this.o.state || randomString(64);
      const nonce = randomString(64);
      const scopes = this.o.scopes || ['openid', 'email'];
      const redirectUri = this.o.redirectUri || location.href.split('#')[0];
      const res = await this.request(`${this.baseUrl}/v1/interact`, {
        client_id: this.o.clientId, scope: scopes.join(' '), redirect_uri: redirectUri,
        code_challenge: codeChallenge, code_challenge_method: 'S256', state, nonce,
      }, { form: true });
      if (!res.ok || !res.data || !res.data.interaction_handle) return this.failed(res);
      this.meta = {
        interactionHandle: res.data.interaction_handle, codeVerifier, state, nonce, clientId: this.o.clientId,
        redirectUri, issuer: this.issuer, scopes, dateCreated: Date.now(),
      };
      metaStore.save(this.meta);
      return this.introspectAndShow();
    }

    introspect() {
      return this.request(`${this.domain}/idp/idx/introspect`, { interactionHandle: this.meta.interactionHandle });
    }

    async introspectAndShow() {
      const res = await this.introspect();
      return res.ok ? this.show(res.data) : this.failed(res);
    }

    // The emailed link (idx-protocol §7): continue only a transaction this browser holds.
    async magicLink(otp, state) {
      this.cleanAddressBar();
      const saved = metaStore.get(state);
      if (this.o.interactionHandle) {
        this.meta = { interactionHandle: this.o.interactionHandle, state, codeVerifier: this.o.codeVerifier, external: true };
      } else if (saved && saved.interactionHandle && saved.clientId === this.o.clientId && saved.issuer === this.issuer) {
        this.meta = saved;
      } else {
        return this.renderOtherTab(otp); // another browser: show the code, call nothing
      }
      const res = await this.introspect();
      if (!res.ok) return this.failed(res);
      const idx = res.data;
      const rem = this.primary(idx);
      if (!rem || rem.name !== 'challenge-authenticator' || !this.isEmail(idx, rem)) return this.show(idx);
      const answer = await this.request(rem.href, this.bodyFor(rem, { 'credentials.passcode': otp }));
      if (answer.ok) return this.show(answer.data);
      if (answer.data && answer.data.version && this.primary(answer.data) && this.primary(answer.data).name === rem.name) {
        this.show(answer.data.remediation ? answer.data : idx, { keepMessages: true });
        return this.showErrors(answer.data, answer);
      }
      this.show(idx);
      return this.failed(answer);
    }

    cleanAddressBar() {
      try {
        const u = new URL(location.href);
        let changed = false;
        for (const k of ['otp', 'state']) if (u.searchParams.has(k)) { u.searchParams.delete(k); changed = true; }
        if (/(^|[#&])(otp|state)=/.test(u.hash.slice(1))) {
          const hp = new URLSearchParams(u.hash.slice(1)); hp.delete('otp'); hp.delete('state');
          u.hash = hp.toString(); changed = true;
        }
        if (changed) history.replaceState(history.state, '', u.href);
      } catch { /* not fatal */ }
    }

    // -- network
    async request(url, body, { form = false, get = false, creds = true } = {}) {
      const headers = { Accept: 'application/json', 'Accept-Language': this.lang };
      let payload;
      if (form) { headers['Content-Type'] = 'application/x-www-form-urlencoded'; payload = new URLSearchParams(body).toString(); }
      else if (!get) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body || {}); }
      this.abort = new AbortController();
      let r;
      try {
        r = await fetch(url, {
          method: get ? 'GET' : 'POST', headers, body: payload, credentials: creds ? 'include' : 'omit',
          mode: 'cors', cache: 'no-store', signal: this.abort.signal,
        });
      } catch (e) {
        if (this.removed) throw e;
        return { ok: false, status: 0, data: null, network: true };
      }
      let data = null;
      try { const text = await r.text(); data = text ? JSON.parse(text) : null; } catch { data = null; }
      const ra = Number(r.headers.get('Retry-After'));
      return { ok: r.ok, status: r.status, data, retryAfter: Number.isFinite(ra) && ra > 0 ? Math.ceil(ra) : 0 };
    }

    // -- state handling
    primary(idx) {
      const rems = list(idx && idx.remediation);
      return rems.find((r) => RENDERABLE.has(r.name)) || rems[0] || null;
    }
    isEmail(idx, rem) {
      const a = resolvePath(idx, rem.relatesTo) || (idx.currentAuthenticatorEnrollment || {}).value || {};
      return a.key === 'okta_email' || a.type === 'email';
    }
    isPasskey(idx, rem) {
      const a = resolvePath(idx, rem.relatesTo) || (idx.currentAuthenticator || {}).value || {};
      return a.key === 'webauthn';
    }
    isOtpApp(idx, rem) {
      const a = resolvePath(idx, rem.relatesTo) || (idx.currentAuthenticator || {}).value || {};
      return a.key === 'google_otp';
    }
    stateHandle(rem) {
      const f = (rem && rem.value || []).find((x) => x.name === 'stateHandle');
      return (f && f.value) || (this.idx && this.idx.stateHandle);
    }

    show(idx, { keepMessages = false } = {}) {
      if (this.removed) return;
      const prevName = this.rem && this.rem.name;
      this.idx = idx;
      this.clearTimers();
      if (!keepMessages) this.setAlert([]);
      const success = idx.successWithInteractionCode;
      if (success) return this.finish(success);
      const rem = this.primary(idx);
      this.rem = rem;
      this.fields = new Map();
      this.confirm = null;
      this.resendBtn = null;
      if (!rem) return this.renderTerminal(list(idx.messages));
      const view = this.viewFor(rem, idx);
      this.view = view;
      this.setTitle(view.title);
      const form = h('form', { class: 'lk-form', novalidate: true, 'aria-labelledby': `${this.uid}-title`, onsubmit: (e) => { e.preventDefault(); this.submit(); } });
      if (view.intro) form.append(h('p', { class: 'lk-intro', text: view.intro }));
      if (view.before) view.before(form);
      this.renderFields(form, rem.value, '', view);
      if (view.after) view.after(form);
      if (view.help) form.append(h('p', { class: 'lk-help', text: view.help }));
      this.submitBtn = h('button', { class: 'lk-button lk-primary', type: 'submit', text: view.submit });
      form.append(this.submitBtn);
      if (view.links) form.append(view.links);
      this.body.replaceChildren(form);
      if (view.resend) this.startResendTimer(prevName === rem.name);
      this.setAlert(list(idx.messages), true);
      this.rendered(rem.name);
    }

    viewFor(rem, idx) {
      const recovery = ((idx.recoveryAuthenticator || {}).value || {}).type === 'password';
      const back = () => h('div', { class: 'lk-links' }, this.linkButton(this.t('back'), () => this.backToSignIn()));
      switch (rem.name) {
        case 'identify': {
          const hasPassword = rem.value.some((f) => f.name === 'credentials');
          const recover = ((idx.currentAuthenticator || {}).value || {}).recover;
          const links = recover && this.features.selfServicePasswordReset !== false
            ? h('div', { class: 'lk-links' }, this.linkButton(this.t('forgot'), () => this.invoke(recover))) : null;
          return {
            title: this.t('signin.title'), submit: this.t(hasPassword ? 'signin.submit' : 'next'), links,
            labels: { identifier: 'username', 'credentials.passcode': 'password', rememberMe: 'rememberMe' },
            auto: { identifier: 'username', 'credentials.passcode': 'current-password' },
            toggle: this.features.showPasswordToggleOnSignInPage,
            skip: this.features.rememberMe === false ? ['rememberMe'] : [],
          };
        }
        case 'identify-recovery':
          return { title: this.t('recovery.title'), intro: this.t('recovery.intro'), submit: this.t('next'), links: back(),
            labels: { identifier: 'recovery.identifier' }, auto: { identifier: 'username' } };
        case 'select-authenticator-authenticate':
        case 'select-authenticator-enroll': {
          // After the emailed code, a policy may ask for a second factor: say why.
          const factor = list(idx.authenticators).some((a) => a.key === 'google_otp' || a.key === 'webauthn');
          return { title: this.t(recovery ? 'recovery.title' : 'select.title'), intro: this.t(factor ? 'select.factorIntro' : 'select.intro'),
            submit: this.t('submit'), links: back(), labels: { authenticator: 'select.legend' } };
        }
        case 'challenge-authenticator': {
          if (this.isPasskey(idx, rem)) {
            return { title: this.t('passkey.title'), intro: this.t('passkey.intro'), submit: this.t('passkey.use'), links: back(), passkey: 'get' };
          }
          if (this.isOtpApp(idx, rem)) {
            return { title: this.t('totp.title'), intro: this.t('totp.intro'), submit: this.t('verify'), links: back(),
              labels: { 'credentials.passcode': 'code' }, auto: { 'credentials.passcode': 'one-time-code' }, code: true };
          }
          if (!this.isEmail(idx, rem)) {
            return { title: this.t('signin.title'), submit: this.t('verify'), links: back(), toggle: true,
              labels: { 'credentials.passcode': 'password' }, auto: { 'credentials.passcode': 'current-password' } };
          }
          const enr = resolvePath(idx, rem.relatesTo) || {};
          const email = enr.profile && enr.profile.email;
          const resend = ((idx.currentAuthenticatorEnrollment || {}).value || {}).resend;
          return {
            title: this.t('email.title'), intro: email ? this.t('email.introTo', email) : this.t('email.intro'), help: this.t('email.help'),
            submit: this.t('verify'), labels: { 'credentials.passcode': 'code' },
            auto: { 'credentials.passcode': 'one-time-code' }, code: true, resend,
            links: h('div', { class: 'lk-links' }, resend ? this.resendBlock(resend) : null, this.linkButton(this.t('back'), () => this.backToSignIn())),
          };
        }
        case 'enroll-authenticator':
          if (this.isPasskey(idx, rem)) {
            return { title: this.t('passkey.setupTitle'), intro: this.t('passkey.setupIntro'), submit: this.t('passkey.create'), links: back(), passkey: 'create' };
          }
          if (this.isOtpApp(idx, rem)) return this.totpSetupView(idx, rem, back);
        // falls through: enrolling a password looks like resetting one
        case 'reset-authenticator': {
          const auth = resolvePath(idx, rem.relatesTo) || (idx.currentAuthenticator || {}).value || {};
          return {
            title: this.t('reset.title'), submit: this.t('reset.submit'), links: back(), toggle: true, confirm: true,
            labels: { 'credentials.passcode': 'newPassword', 'credentials.revokeSessions': 'revokeSessions' },
            auto: { 'credentials.passcode': 'new-password' }, settings: auth.settings || {},
          };
        }
        default:
          return { title: this.t('signin.title'), submit: this.t('next'), links: back(), labels: {}, auto: {} };
      }
    }

    // Setting up a TOTP app: the QR code to scan, the secret to type instead, then the app's
    // first code. Both come from the server's `contextualData`; the secret is shown as text only.
    totpSetupView(idx, rem, back) {
      const auth = resolvePath(idx, rem.relatesTo) || (idx.currentAuthenticator || {}).value || {};
      const data = auth.contextualData || {};
      const qr = data.qrcode || {};
      return {
        title: this.t('setup.title'), intro: this.t('setup.intro'), submit: this.t('verify'), links: back(),
        labels: { 'credentials.passcode': 'code' }, auto: { 'credentials.passcode': 'one-time-code' }, code: true,
        before: (form) => {
          if (typeof qr.href === 'string' && qr.href.startsWith('data:image/')) {
            form.append(h('img', { class: 'lk-qr', src: qr.href, alt: this.t('setup.qr'), width: '200', height: '200' }));
          }
          if (data.sharedSecret) {
            form.append(h('p', { class: 'lk-help', text: this.t('setup.secret') }),
              h('p', { class: 'lk-secret', text: String(data.sharedSecret).replace(/(.{4})/g, '$1 ').trim() }));
          }
        },
      };
    }

    linkButton(text, onclick) {
      return h('button', { type: 'button', class: 'lk-link', text, onclick });
    }

    // -- form rendering, driven by the remediation's field list
    renderFields(form, fields, prefix, view) {
      for (const f of fields || []) {
        const path = prefix ? `${prefix}.${f.name}` : f.name;
        if (f.visible === false || (f.mutable === false && 'value' in f) || f.name === 'stateHandle') continue;
        if ((view.skip || []).includes(path)) continue;
        if (f.options) { this.renderOptions(form, f, path, view); continue; }
        if (f.type === 'object' && f.form) { this.renderFields(form, f.form.value, path, view); continue; }
        const id = `${this.uid}-${path.replace(/\W/g, '-')}`;
        const labelText = view.labels && view.labels[path] ? this.t(view.labels[path]) : (f.label || f.name);
        const err = h('p', { class: 'lk-field-error', id: `${id}-err` });
        if (f.type === 'boolean') {
          const input = h('input', { type: 'checkbox', id, name: path, 'aria-describedby': `${id}-err` });
          if (f.value === true) input.checked = true;
          form.append(h('div', { class: 'lk-field lk-check' }, input, h('label', { for: id, text: labelText }), err));
          this.fields.set(path, { input, err, field: f });
          continue;
        }
        const secret = !!f.secret || path === 'credentials.passcode' && !view.code;
        const input = h('input', {
          id, name: path, type: secret ? 'password' : 'text', class: 'lk-input',
          autocomplete: (view.auto && view.auto[path]) || (secret ? 'current-password' : 'off'),
          'aria-describedby': `${id}-err`, 'aria-required': f.required ? 'true' : null,
          autocapitalize: 'none', spellcheck: 'false',
          inputmode: view.code ? 'numeric' : null, maxlength: f.maxLength || null,
        });
        if (typeof f.value === 'string' && !secret) input.value = f.value;
        const wrap = h('div', { class: 'lk-field' }, h('label', { for: id, text: labelText }));
        let confirmInput = null;
        if (secret && view.toggle) {
          const btn = h('button', { type: 'button', class: 'lk-toggle', 'aria-controls': id, 'aria-label': this.t('show.label'), text: this.t('show') });
          btn.addEventListener('click', () => {
            const reveal = input.type === 'password';
            for (const i of [input, confirmInput]) if (i) i.type = reveal ? 'text' : 'password';
            btn.textContent = this.t(reveal ? 'hide' : 'show');
            btn.setAttribute('aria-label', this.t(reveal ? 'hide.label' : 'show.label'));
          });
          wrap.append(h('div', { class: 'lk-pw' }, input, btn));
        } else wrap.append(input);
        wrap.append(err);
        form.append(wrap);
        const ui = { input, err, field: f };
        this.fields.set(path, ui);
        // An error belongs to the value that caused it: once the user changes it, it goes.
        input.addEventListener('input', () => this.clearFieldError(ui));
        if (secret && view.confirm) {
          if (view.settings) form.append(this.requirements(input, view.settings));
          const cid = `${id}-confirm`;
          confirmInput = h('input', { id: cid, type: 'password', class: 'lk-input', autocomplete: 'new-password', 'aria-describedby': `${cid}-err`, 'aria-required': 'true' });
          const cerr = h('p', { class: 'lk-field-error', id: `${cid}-err` });
          form.append(h('div', { class: 'lk-field' }, h('label', { for: cid, text: this.t('confirmPassword') }), confirmInput, cerr));
          this.confirm = { input: confirmInput, err: cerr, of: input };
          const confirm = this.confirm;
          confirmInput.addEventListener('input', () => this.clearFieldError(confirm));
        }
      }
    }

    renderOptions(form, f, path, view) {
      const name = `${this.uid}-${path}`;
      const fs = h('fieldset', { class: 'lk-options' }, h('legend', { text: view.labels && view.labels[path] ? this.t(view.labels[path]) : (f.label || f.name) }));
      const radios = [];
      f.options.forEach((opt, n) => {
        const target = resolvePath(this.idx, opt.relatesTo) || {};
        const label = target.key && CATALOGS.en[`auth.${target.key}`] ? this.t(`auth.${target.key}`) : (opt.label || target.displayName || String(n + 1));
        const id = `${name}-${n}`;
        const input = h('input', { type: 'radio', id, name, value: String(n) });
        if (f.options.length === 1 || n === 0) input.checked = n === 0;
        radios.push(input);
        fs.append(h('div', { class: 'lk-option' }, input, h('label', { for: id, text: label })));
      });
      const err = h('p', { class: 'lk-field-error', id: `${name}-err` });
      fs.setAttribute('aria-describedby', err.id);
      fs.append(err);
      form.append(fs);
      this.fields.set(path, { radios, err, field: f, input: radios[0] });
    }

    requirements(input, settings) {
      const c = settings.complexity || {};
      const user = String((((this.idx || {}).user || {}).value || {}).identifier || '').toLowerCase();
      const excl = new Set(c.excludeAttributes || []);
      const rules = [];
      const add = (key, n, test) => rules.push({ text: this.t(key, n), test });
      if (c.minLength > 0) add('req.minLength', c.minLength, (v) => [...v].length >= c.minLength);
      if (c.maxLength > 0) add('req.maxLength', c.maxLength, (v) => [...v].length <= c.maxLength);
      if (c.minLowerCase > 0) add('req.minLowerCase', c.minLowerCase, (v) => count(v, /\p{Ll}/gu) >= c.minLowerCase);
      if (c.minUpperCase > 0) add('req.minUpperCase', c.minUpperCase, (v) => count(v, /\p{Lu}/gu) >= c.minUpperCase);
      if (c.minNumber > 0) add('req.minNumber', c.minNumber, (v) => count(v, /\p{Nd}/gu) >= c.minNumber);
      if (c.minSymbol > 0) add('req.minSymbol', c.minSymbol, (v) => count(v, /[^\p{L}\p{N}\s]/gu) >= c.minSymbol);
      if (c.excludeUsername) {
        const local = user.split('@')[0];
        add('req.excludeUsername', 0, user ? (v) => v.length > 0 && !(local && v.toLowerCase().includes(local)) : null);
      }
      if (c.excludeFirstName || excl.has('firstName')) add('req.excludeFirstName', 0, null);
      if (c.excludeLastName || excl.has('lastName')) add('req.excludeLastName', 0, null);
      const hist = (settings.age || {}).historyCount;
      if (hist > 0) add('req.history', hist, null);
      // The strength rule is ours (zxcvbn on the server), not a key of `settings.complexity`:
      // Okta's widget breaks on keys it does not know (idx-protocol §6.5). Listed up front; the
      // server's verdict marks it unmet, and changing the password clears that verdict.
      add('req.strength', 0, null);
      if (!rules.length) return null;
      const id = `${this.uid}-reqs`;
      const ul = h('ul', { class: 'lk-reqs', id });
      for (const r of rules) {
        r.state = h('span', { class: 'lk-sr' });
        r.li = h('li', { class: 'lk-req', 'data-met': r.test ? 'false' : null }, r.text, ' ', r.state);
        ul.append(r.li);
      }
      const update = () => {
        for (const r of rules) if (r.test) {
          const met = r.test(input.value);
          r.li.setAttribute('data-met', String(met));
          r.state.textContent = this.t(met ? 'req.met' : 'req.unmet');
        }
      };
      input.addEventListener('input', update);
      update();
      this.reqRules = rules;
      this.strengthRule = rules[rules.length - 1];
      input.addEventListener('input', () => { this.markStrength(null); this.checkStrengthSoon(input.value); });
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby')} ${id}`);
      return h('div', { class: 'lk-reqbox' }, h('p', { class: 'lk-reqtitle', id: `${id}-t`, text: this.t('req.title') }), ul);
    }

    // Asks the server's strength check (`/widget/v1/password-strength`, bound to this reset
    // step) once typing pauses and every rule the page can test holds; a stale answer is dropped.
    checkStrengthSoon(value) {
      clearTimeout(this.strengthTimer);
      const seq = (this.strengthSeq = (this.strengthSeq || 0) + 1);
      const testable = (this.reqRules || []).every((r) => !r.test || r.test(value));
      const handle = this.stateHandle(this.rem);
      if (!value || !testable || !handle) return;
      this.strengthTimer = setTimeout(async () => {
        try {
          const r = await fetch(`${this.domain}/widget/v1/password-strength`, {
            method: 'POST', mode: 'cors', credentials: 'omit', cache: 'no-store',
            body: new URLSearchParams({ stateHandle: handle, password: value }),
          });
          const data = r.ok ? await r.json() : null;
          if (seq === this.strengthSeq && data && typeof data.strong === 'boolean') this.markStrength(data.strong);
        } catch { /* the verdict on submit still counts */ }
      }, 400);
    }

    // `met`: true, false or null (not known yet).
    markStrength(met) {
      const r = this.strengthRule;
      if (!r || !r.li.isConnected) return;
      r.li.classList.toggle('lk-req-failed', met === false);
      if (met === null) { r.li.removeAttribute('data-met'); r.state.textContent = ''; return; }
      r.li.setAttribute('data-met', String(met));
      r.state.textContent = this.t(met ? 'req.met' : 'req.unmet');
    }

    // -- resend countdown
    resendBlock(resend) {
      this.resendBtn = h('button', { type: 'button', class: 'lk-link', text: this.t('resend'), onclick: () => this.doResend(resend) });
      this.resendNote = h('p', { class: 'lk-countdown' });
      return h('div', { class: 'lk-resend' }, this.resendNote, this.resendBtn);
    }
    startResendTimer(keep, seconds) {
      if (!this.resendBtn) return;
      if (!keep || seconds || !this.resendAt) this.resendAt = Date.now() + 1000 * (seconds || Number(this.o.resendCountdownSeconds ?? 30));
      const tick = () => {
        const left = Math.ceil((this.resendAt - Date.now()) / 1000);
        const waiting = left > 0;
        this.resendBtn.disabled = waiting;
        this.resendNote.textContent = waiting ? this.t('resendIn', left) : this.t('resendNow');
        if (!waiting) { clearInterval(iv); this.timers.delete(iv); }
      };
      const iv = setInterval(tick, 1000);
      this.timers.add(iv);
      tick();
    }
    async doResend(resend) {
      if (this.busy) return;
      this.busy = true;
      const res = await this.request(resend.href, this.actionBody(resend)).finally(() => { this.busy = false; });
      if (res.ok) {
        this.show(res.data, { keepMessages: false });
        this.startResendTimer(false);
        this.setAlert([{ message: this.t('resent'), class: 'INFO' }]);
        return;
      }
      if (res.status === 429) this.startResendTimer(false, res.retryAfter || undefined);
      this.failed(res);
    }
    clearTimers() { for (const t of this.timers) clearInterval(t); this.timers.clear(); }

    // -- submitting
    actionBody(action) {
      const body = {};
      for (const f of action.value || []) if ('value' in f) body[f.name] = f.value;
      body.stateHandle ||= this.idx && this.idx.stateHandle;
      return body;
    }

    bodyFor(rem, overrides = {}) {
      const walk = (fields, prefix) => {
        const out = {};
        for (const f of fields || []) {
          const path = prefix ? `${prefix}.${f.name}` : f.name;
          if (path in overrides) { out[f.name] = overrides[path]; continue; }
          const ui = this.fields && this.fields.get(path);
          if (f.options) {
            const pick = ui ? ui.radios.findIndex((r) => r.checked) : 0;
            const opt = f.options[pick];
            if (!opt) continue;
            const form = opt.value && opt.value.form && opt.value.form.value;
            out[f.name] = form ? Object.fromEntries(form.filter((x) => 'value' in x).map((x) => [x.name, x.value])) : opt.value;
          } else if (f.type === 'object' && f.form) {
            const sub = walk(f.form.value, path);
            if (Object.keys(sub).length) out[f.name] = sub;
          } else if (ui && ui.input && ui.input.type === 'checkbox') {
            if (ui.input.checked) out[f.name] = true;
          } else if (ui && ui.input && (f.mutable !== false)) {
            out[f.name] = ui.input.value;
          } else if ('value' in f) out[f.name] = f.value;
        }
        return out;
      };
      const body = walk(rem.value, '');
      body.stateHandle = this.stateHandle(rem);
      return body;
    }

    validate() {
      const bad = [];
      for (const [, ui] of this.fields) {
        if (ui.radios || !ui.input || ui.input.type === 'checkbox') continue;
        if (ui.field.required && !ui.input.value) bad.push([ui, this.t('required')]);
      }
      if (this.confirm && this.confirm.input.isConnected && this.confirm.input.value !== this.confirm.of.value) {
        bad.push([this.confirm, this.t(this.confirm.input.value ? 'mismatch' : 'required')]);
      }
      return bad;
    }

    async submit() {
      if (this.busy || !this.rem) return;
      this.clearFieldErrors();
      this.setAlert([]);
      const bad = this.validate();
      if (bad.length) {
        for (const [ui, text] of bad) this.fieldError(ui, [text]);
        this.srLive.textContent = bad.map(([, t]) => t).join(' ');
        bad[0][0].input.focus();
        this.emit('afterError', this.context(), { name: 'ValidationError', message: bad[0][1] });
        return;
      }
      const rem = this.rem;
      this.setBusy(true);
      let overrides = {};
      if (this.view && this.view.passkey) {
        try {
          overrides = await this.passkeyAnswer(this.view.passkey);
        } catch (e) {
          this.setBusy(false);
          const text = this.t(e && e.name === 'NotSupportedError' ? 'passkey.unsupported' : 'passkey.failed');
          this.setAlert([{ message: text, class: 'ERROR' }]);
          this.emit('afterError', this.context(), { name: 'WebAuthnError', message: text });
          return;
        }
      }
      const res = await this.request(rem.href, this.bodyFor(rem, overrides)).finally(() => this.setBusy(false));
      if (this.removed) return;
      if (res.ok) return this.show(res.data);
      return this.failed(res);
    }

    // A passkey's answer (Okta's credentials members, base64url) from the browser's WebAuthn:
    // `create` with the server's `activationData`, `get` with its `challengeData`; the
    // account's passkeys (`authenticatorEnrollments[].credentialId`) are excluded or allowed.
    async passkeyAnswer(kind) {
      if (!window.PublicKeyCredential || !navigator.credentials) throw Object.assign(new Error('no WebAuthn'), { name: 'NotSupportedError' });
      const data = ((this.idx.currentAuthenticator || {}).value || {}).contextualData || {};
      const fromB64u = (text) => Uint8Array.from(atob(String(text).replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      const toB64u = (buffer) => b64url(new Uint8Array(buffer));
      const clean = (o) => Object.fromEntries(Object.entries(o || {}).filter(([, v]) => v !== null && v !== undefined));
      const known = list(this.idx.authenticatorEnrollments).filter((e) => e.key === 'webauthn' && e.credentialId)
        .map((e) => ({ type: 'public-key', id: fromB64u(e.credentialId) }));
      if (kind === 'create') {
        const a = clean(data.activationData);
        delete a.u2fParams;
        const publicKey = { ...a, challenge: fromB64u(a.challenge), user: { ...a.user, id: fromB64u((a.user || {}).id) }, excludeCredentials: known };
        const cred = await navigator.credentials.create({ publicKey });
        return { 'credentials.clientData': toB64u(cred.response.clientDataJSON), 'credentials.attestation': toB64u(cred.response.attestationObject) };
      }
      const c = clean(data.challengeData);
      const publicKey = { ...c, challenge: fromB64u(c.challenge), allowCredentials: known };
      delete publicKey.extensions;
      const cred = await navigator.credentials.get({ publicKey });
      return {
        'credentials.clientData': toB64u(cred.response.clientDataJSON),
        'credentials.authenticatorData': toB64u(cred.response.authenticatorData),
        'credentials.signatureData': toB64u(cred.response.signature),
      };
    }

    async invoke(action) {
      if (this.busy) return;
      this.setBusy(true);
      const res = await this.request(action.href, this.actionBody(action)).finally(() => this.setBusy(false));
      return res.ok ? this.show(res.data) : this.failed(res);
    }

    async backToSignIn() {
      const cancel = this.idx && this.idx.cancel;
      if (cancel && this.meta && !this.expired) return this.invoke(cancel);
      return this.startOver();
    }

    async startOver() {
      if (this.meta && !this.meta.external) metaStore.remove(this.meta.state);
      this.expired = false;
      this.idx = null; this.rem = null; this.meta = null;
      this.setAlert([]);
      this.body.replaceChildren();
      this.setTitle(this.t('loading'));
      // The app's interaction (interactionHandle option) is gone: start a new one of our own,
      // reusing the app's PKCE challenge and state when it gave them.
      this.o = { ...this.o, interactionHandle: undefined, otp: undefined };
      return this.freshTransaction().catch((e) => this.fatal(e));
    }

    setBusy(on) {
      this.busy = on;
      if (this.submitBtn) this.submitBtn.disabled = on;
      if (this.body) this.body.setAttribute('aria-busy', String(on));
    }

    // -- errors
    // A non-2xx answer. An IDX body (it has `version`) is a failed step: its messages go on the
    // current form, which keeps what the user typed.
    failed(res) {
      const data = res.data;
      let error;
      if (res.network) {
        error = { name: 'NetworkError', message: this.t('network') };
        const msgs = [{ message: error.message, class: 'ERROR' }];
        if (this.rem) this.setAlert(msgs); else this.renderTerminal(msgs, true);
      } else if (data && data.version) {
        const all = list(data.messages);
        error = { name: 'AuthApiError', status: res.status, messages: all };
        if (all.some((m) => msgKey(m) === EXPIRED_KEY) || (res.status === 401 && !data.remediation && !all.length)) {
          return this.sessionExpired(data, error);
        }
        const prim = this.primary(data);
        if (this.rem && prim && prim.name === this.rem.name) {
          this.idx = data;
          this.rem = prim;
          this.showErrors(data, res);
        } else if (prim) {
          this.show(data);
          this.showErrors(data, res);
        } else if (this.rem && res.status === 429) {
          this.showErrors(data, res);
        } else {
          this.renderTerminal(all.length ? all : [{ message: this.t('unknown'), class: 'ERROR' }]);
        }
      } else if (res.status === 429) {
        error = { name: 'RateLimitError', status: 429 };
        this.setAlert([{ message: this.rateText(res), class: 'ERROR' }]);
      } else {
        const desc = data && (data.error_description || data.errorSummary);
        error = { name: 'OAuthError', status: res.status, errorCode: data && (data.error || data.errorCode), message: desc || this.t('unknown') };
        const msgs = [{ message: error.message, class: 'ERROR' }];
        if (this.rem) this.setAlert(msgs); else this.renderTerminal(msgs, true);
      }
      this.emit('afterError', this.context(), error);
    }

    rateText(res) { return res.retryAfter ? this.t('rateIn', res.retryAfter) : this.t('rate'); }

    showErrors(data, res) {
      const rem = list(data.remediation)[0];
      const global = [];
      for (const m of list(data.messages)) {
        if (res && res.status === 429 || msgKey(m) === 'tooManyRequests') global.push({ ...m, message: this.rateText(res || {}), i18n: null });
        else global.push(m);
      }
      let first = null;
      const walk = (fields, prefix) => {
        for (const f of fields || []) {
          const path = prefix ? `${prefix}.${f.name}` : f.name;
          const msgs = list(f.messages);
          if (msgs.length) {
            // Refused by the policy while every rule the page can test holds: the strength rule
            // is the one that failed (the server's words stay in the field's error).
            if (path === 'credentials.passcode' && msgs.some((m) => msgKey(m) === 'password.passwordRequirementsNotMet')
              && (this.reqRules || []).every((r) => !r.test || r.li.getAttribute('data-met') === 'true')) this.markStrength(false);
            const ui = this.fields.get(path);
            if (ui) { this.fieldError(ui, msgs.map((m) => this.serverText(m))); first ||= ui; } else global.push(...msgs);
          }
          if (f.form) walk(f.form.value, path);
        }
      };
      if (rem && this.rem && rem.name === this.rem.name) walk(rem.value, '');
      if (!global.length && !first && res && res.status === 429) global.push({ message: this.rateText(res), class: 'ERROR' });
      this.setAlert(global);
      if (first) {
        this.srLive.textContent = first.err.textContent;
        (first.radios ? first.radios[0] : first.input).focus();
      } else if (this.fields && this.fields.size) {
        // A failure with no field of its own (a wrong password at sign-in): the submit button the
        // user pressed was disabled while busy, which drops focus to the page body. Put it back
        // on the field to retry (the password), whose message the alert role already announced.
        const ui = this.fields.get('credentials.passcode') || [...this.fields.values()][0];
        const target = ui && (ui.radios ? ui.radios[0] : ui.input);
        if (target) target.focus();
      }
    }

    fieldError(ui, texts) {
      ui.err.textContent = texts.join(' ');
      for (const i of ui.radios || [ui.input]) i.setAttribute('aria-invalid', 'true');
    }
    clearFieldError(ui) {
      if (!ui.err || !ui.err.textContent) return;
      ui.err.textContent = '';
      for (const i of ui.radios || [ui.input]) i.removeAttribute('aria-invalid');
    }
    clearFieldErrors() {
      for (const ui of [...(this.fields || new Map()).values(), this.confirm].filter(Boolean)) this.clearFieldError(ui);
      this.srLive.textContent = '';
    }

    setAlert(messages, append) {
      const items = (messages || []).map((m) => h('p', { class: `lk-msg lk-${String(m.class || 'ERROR').toLowerCase()}`, text: this.serverText(m) }));
      if (append) this.alert.append(...items); else this.alert.replaceChildren(...items);
    }

    sessionExpired(data, error) {
      this.expired = true;
      if (this.meta && !this.meta.external) metaStore.remove(this.meta.state);
      this.renderTerminal(list(data.messages).length ? list(data.messages) : [{ message: this.t('srv.idx.session.expired'), class: 'ERROR' }], true);
      this.emit('afterError', this.context(), error);
    }

    fatal(e) {
      if (this.removed) return;
      this.setAlert([{ message: this.t('unknown'), class: 'ERROR' }]);
      this.emit('afterError', this.context(), e);
      if (this.settle) this.settle.reject(e);
    }

    // -- terminal screens
    renderTerminal(messages, startOver) {
      this.clearTimers();
      this.rem = null;
      this.fields = new Map();
      this.setTitle(this.t('terminal.title'));
      this.setAlert(messages);
      const again = startOver || this.expired || !(this.idx && this.idx.cancel);
      this.body.replaceChildren(h('div', { class: 'lk-links' },
        this.linkButton(this.t(again ? 'startOver' : 'back'), () => (again ? this.startOver() : this.backToSignIn()))));
      this.rendered('terminal');
    }

    renderOtherTab(otp) {
      try { history.replaceState({ ...(history.state || {}), [OTHER_TAB_STATE]: otp }, ''); } catch { /* not fatal */ }
      this.setTitle(this.t('otherTab.title'));
      const codeId = `${this.uid}-code`;
      const status = h('p', { class: 'lk-sr', 'aria-live': 'polite' });
      const copy = h('button', { type: 'button', class: 'lk-button', text: this.t('copy'), onclick: async () => {
        try { await navigator.clipboard.writeText(otp); status.textContent = this.t('copied'); } catch { status.textContent = ''; }
      } });
      this.body.replaceChildren(h('div', { class: 'lk-form' },
        h('p', { class: 'lk-intro', text: this.t('otherTab.text') }),
        h('p', { class: 'lk-code-label', id: `${codeId}-l`, text: this.t('otherTab.code') }),
        h('p', { class: 'lk-code', id: codeId, text: otp }),
        copy, status));
      this.rendered('enter-otp-in-original-tab');
    }

    // Another tab of this browser finished the transaction this tab shows: say so, instead of
    // leaving a form whose transaction is gone.
    watchOtherTabs() {
      this.onStorage = (e) => {
        if (e.key !== FINISHED_KEY || !e.newValue || this.removed || this.finishing) return;
        let done = null;
        try { done = JSON.parse(e.newValue); } catch { return; }
        if (!done || !this.meta || done.state !== this.meta.state) return;
        this.clearTimers();
        this.rem = null;
        this.fields = new Map();
        this.setAlert([]);
        this.setTitle(this.t('done.title'));
        this.body.replaceChildren(h('p', { class: 'lk-intro', text: this.t('done.text') }));
        this.rendered('finished-elsewhere');
      };
      window.addEventListener('storage', this.onStorage);
    }
    announceFinished(state) {
      try { localStorage.setItem(FINISHED_KEY, JSON.stringify({ state, at: Date.now() })); localStorage.removeItem(FINISHED_KEY); } catch { /* storage disabled */ }
    }

    // -- success
    async finish(success) {
      this.finishing = true;
      const code = (success.value || []).find((f) => f.name === 'interaction_code');
      this.rem = null;
      this.body.replaceChildren(h('p', { class: 'lk-intro lk-progress', text: this.t('success') }));
      this.setTitle(this.t('success'));
      if (!code || !code.value) return this.fatal(new Error('successWithInteractionCode without an interaction_code'));
      const meta = this.meta || {};
      const state = meta.state || this.o.state;
      if (!meta.external && meta.state) metaStore.remove(meta.state);
      if (state) this.announceFinished(state);
      this.rendered('success');
      if (this.mode === 'redirect') {
        const u = new URL(this.o.redirectUri || meta.redirectUri);
        u.searchParams.set('interaction_code', code.value);
        if (state) u.searchParams.set('state', state);
        location.assign(u.href);
        return this.settle.resolve();
      }
      const verifier = meta.codeVerifier || this.o.codeVerifier;
      if (!verifier) return this.fatal(new Error('showSignIn needs the PKCE code verifier (pass codeVerifier with interactionHandle, or use showSignInAndRedirect)'));
      const res = await this.request(`${this.baseUrl}/v1/token`, {
        client_id: this.o.clientId, redirect_uri: this.o.redirectUri || meta.redirectUri, grant_type: 'interaction_code',
        code_verifier: verifier, interaction_code: code.value,
      }, { form: true, creds: false });
      if (!res.ok || !res.data || !res.data.access_token) {
        this.failed({ ...res, ok: false });
        return this.settle.reject(Object.assign(new Error('Token request failed'), { status: res.status, body: res.data }));
      }
      const tokens = this.tokens(res.data, meta);
      if (tokens instanceof Error) return this.fatal(tokens);
      this.settle.resolve({ status: 'SUCCESS', tokens });
    }

    tokens(t, meta) {
      const now = Math.floor(Date.now() / 1000);
      const scopes = t.scope ? t.scope.split(' ') : meta.scopes || this.o.scopes || ['openid', 'email'];
      const out = {
        accessToken: { accessToken: t.access_token, tokenType: t.token_type, expiresAt: now + Number(t.expires_in || 0), scopes, claims: decodeJwt(t.access_token) || {} },
      };
      if (t.id_token) {
        const claims = decodeJwt(t.id_token);
        // Received directly from the token endpoint over TLS: check the claims (OIDC Core 3.1.3.7).
        const aud = claims && (Array.isArray(claims.aud) ? claims.aud : [claims.aud]);
        if (!claims || claims.iss !== this.issuer || !aud.includes(this.o.clientId) || !(claims.exp > now - 300)) {
          return new Error('The ID token failed validation');
        }
        out.idToken = { idToken: t.id_token, claims, expiresAt: claims.exp, scopes, issuer: claims.iss, clientId: this.o.clientId };
      }
      if (t.refresh_token) out.refreshToken = { refreshToken: t.refresh_token, scopes };
      return out;
    }

    // -- rendering plumbing
    setTitle(text) { this.heading.textContent = text; }
    context() { return { formName: this.screen || null, controller: this.screen || null }; }
    rendered(name) {
      this.screen = name;
      if (this.features.autoFocus !== false) this.heading.focus({ preventScroll: false });
      if (!this.ready) { this.ready = true; this.emit('ready', this.context()); }
      this.emit('afterRender', this.context());
    }
  }

  const RENDERABLE = new Set(['identify', 'identify-recovery', 'select-authenticator-authenticate', 'select-authenticator-enroll',
    'challenge-authenticator', 'reset-authenticator', 'enroll-authenticator']);

  LatchkeySignIn.catalogs = CATALOGS; // read-only use: languages offered and their strings
  window.LatchkeySignIn = LatchkeySignIn;
  if (!window.OktaSignIn) window.OktaSignIn = LatchkeySignIn;
})();
