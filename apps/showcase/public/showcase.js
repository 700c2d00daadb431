/*
 * The showcase page's script (seed 004's frontend): the phone number is checked with
 * intl-tel-input, the pvn_sms button starts the flow (start_pvn_sms → start_sms_flow), the
 * backend starts CIBA (POST /sms/auth), SweetAlert2 asks for the code from the SMS, the backend
 * completes it (POST /sms/token), the page reports it (log_sms_data → POST /sms/log) and goes
 * to /user/info. The page talks only to this app's backend; secrets never reach it.
 */
(function () {
  'use strict';

  var Swal = window.Sweetalert2;
  var phoneInput = document.getElementById('phone');
  var phoneError = document.getElementById('phone_error');
  var serverInput = document.getElementById('server_id');
  var iti = phoneInput
    ? window.intlTelInput(phoneInput, {
        initialCountry: 'gb',
        allowedNumberTypes: ['MOBILE', 'FIXED_LINE_OR_MOBILE'],
        strictMode: true,
      })
    : null;

  var PHONE_ERRORS = {
    INVALID_COUNTRY_CODE: 'That country code does not exist.',
    TOO_SHORT: 'That number is too short.',
    TOO_LONG: 'That number is too long.',
    INVALID_LENGTH: 'That number has the wrong length.',
  };

  function showPhoneError(text) {
    phoneError.textContent = text;
    phoneError.hidden = !text;
    phoneInput.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  /** The number in E.164 if intl-tel-input finds it a valid mobile number, else null. */
  function validPhone() {
    if (!phoneInput.value.trim()) {
      showPhoneError('Type your mobile phone number.');
      return null;
    }
    if (!iti.isValidNumber()) {
      showPhoneError(PHONE_ERRORS[iti.getValidationError()] || 'That is not a valid mobile phone number.');
      return null;
    }
    showPhoneError('');
    return iti.getNumber();
  }

  /** POSTs JSON to the backend; resolves with the parsed answer, rejects with it on an error status. */
  function postJson(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.text().then(function (text) {
        var data;
        try {
          data = JSON.parse(text);
        } catch (e) {
          data = { error: 'invalid_answer', message: text };
        }
        if (!res.ok) throw data;
        return data;
      });
    });
  }

  /** A sentence for an error answer `{error, status, message?, data?}` of the backend. */
  function describeError(err) {
    if (!err || typeof err !== 'object') return 'Something went wrong; try again.';
    var upstream = err.data && typeof err.data === 'object' ? err.data.error_description : null;
    return upstream || err.message || err.error || 'Something went wrong; try again.';
  }

  function log_sms_data(data) {
    return postJson('/sms/log', { data: data }).catch(function () {
      /* logging is best effort */
    });
  }

  function start_sms_flow(data) {
    var button = document.querySelector('button.btn_sms[data-client-id="' + CSS.escape(data.client_id) + '"]');
    if (button) button.disabled = true;
    return postJson('/sms/auth', data)
      .then(function (auth) {
        return Swal.fire({
          title: 'Enter OTP code',
          text: 'We sent a code by SMS to ' + data.login_hint + '.',
          input: 'text',
          inputAttributes: { autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '8', 'aria-label': 'OTP code' },
          inputPlaceholder: '123456',
          showCancelButton: true,
          confirmButtonText: 'Verify',
          showLoaderOnConfirm: true,
          allowOutsideClick: function () {
            return !Swal.isLoading();
          },
          inputValidator: function (value) {
            return /^\d{4,8}$/.test(value.trim()) ? null : 'Type the code from the SMS.';
          },
          preConfirm: function (code) {
            return postJson('/sms/token', {
              code: code.trim(),
              auth_req_id: auth.auth_req_id,
              client_id: data.client_id,
              nonce: auth.nonce,
              server_id: auth.auth_server.id,
            }).catch(function (err) {
              // The popup stays open: a wrong code may be typed again while the auth server allows it.
              Swal.showValidationMessage(describeError(err));
              return false;
            });
          },
        });
      })
      .then(function (result) {
        if (!result.isConfirmed) return;
        return log_sms_data({ event: 'verified', user_flow: 'pvn_sms', result: result.value }).then(function () {
          window.location.assign('/user/info');
        });
      })
      .catch(function (err) {
        return Swal.fire({ icon: 'error', title: 'Could not send the code', text: describeError(err) });
      })
      .finally(function () {
        if (button) button.disabled = false;
      });
  }

  function start_pvn_sms(client_id, phone_number, scope) {
    var data = { login_hint: phone_number, client_id: client_id, scope: scope, server_id: serverInput.value };
    return start_sms_flow(data);
  }

  document.querySelectorAll('button.btn_sms[data-user-flow="pvn_sms"]').forEach(function (button) {
    button.addEventListener('click', function () {
      var phone = validPhone();
      if (phone) start_pvn_sms(button.dataset.clientId, phone, button.dataset.scope);
    });
  });
  if (phoneInput) phoneInput.addEventListener('input', function () {
    if (!phoneError.hidden) showPhoneError('');
  });

  // OpenID Connect: a number already typed above goes along as login_hint.
  var oidcLogin = document.getElementById('oidc_login');
  if (oidcLogin && iti) oidcLogin.addEventListener('click', function () {
    if (phoneInput.value.trim() && iti.isValidNumber()) oidcLogin.href = '/oidc/login?login_hint=' + encodeURIComponent(iti.getNumber());
  });

  // REST API, embedded flow: eidhub's pages in a frame of this page.
  var restButton = document.getElementById('rest_embedded');
  var restFrame = document.getElementById('rest_frame');
  if (restButton) restButton.addEventListener('click', function () {
    restButton.disabled = true;
    postJson('/rest/sessions', {})
      .then(function (session) {
        var frame = document.createElement('iframe');
        frame.className = 'embedded';
        frame.title = 'eidhub login';
        frame.src = session.authenticationUrl;
        restFrame.replaceChildren(frame);
      })
      .catch(function (err) {
        restButton.disabled = false;
        return Swal.fire({ icon: 'error', title: 'Could not start the login', text: describeError(err) });
      });
  });
})();
